"""Python clients for crayon-bridge, importable with the standard library alone.

- `CrayonClient` / `CrayonExperiment`: pycrayon 0.5's API (`from crayon_bridge.client import
  CrayonClient` instead of `from pycrayon import CrayonClient`).
- `SummaryWriter`: tensorboardX's `add_scalar`/`add_scalars`/`add_histogram`, queued and sent in
  batches by a background thread.
"""

from __future__ import annotations

from crayon_bridge.client._http import DEFAULT_URL
from crayon_bridge.client.compat import CrayonClient, CrayonExperiment
from crayon_bridge.client.errors import (
    CrayonConnectionError,
    CrayonError,
    DeliveryWarning,
    IncompatibleServerError,
)
from crayon_bridge.client.writer import SummaryWriter

__all__ = [
    "DEFAULT_URL",
    "CrayonClient",
    "CrayonConnectionError",
    "CrayonError",
    "CrayonExperiment",
    "DeliveryWarning",
    "IncompatibleServerError",
    "SummaryWriter",
]
