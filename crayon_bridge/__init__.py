"""crayon-bridge: the Crayon HTTP API, stored as TensorBoard event files."""

__version__ = "0.1.0"

# The API version stock Crayon clients check: pycrayon 0.5 requires `GET /` to answer exactly this.
API_VERSION = "0.5"
