"""The optional access token: `Authorization: Bearer <token>`, or HTTP Basic with it as password.

Basic auth lets stock pycrayon carry the token in its URL (`http://user:TOKEN@host`), since
`requests` turns URL credentials into a Basic header.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from .errors import Unauthorized

CHALLENGE = 'Bearer realm="crayon-bridge", Basic realm="crayon-bridge"'


def _presented_token(header: str) -> str | None:
    scheme, _, credentials = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return credentials.strip()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2]
    return None


def check_token(authorization: str | None, token: str) -> None:
    """Raise Unauthorized unless the Authorization header carries `token`."""
    if not authorization:
        raise Unauthorized(
            "this bridge requires an access token: send 'Authorization: Bearer <token>' "
            "or put it in the URL as http://user:<token>@host"
        )
    presented = _presented_token(authorization)
    if presented is None or not hmac.compare_digest(presented.encode(), token.encode()):
        raise Unauthorized("the access token is wrong")
