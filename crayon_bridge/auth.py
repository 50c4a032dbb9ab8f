"""The optional access token: `Authorization: Bearer <token>`, or HTTP Basic with it as password.

Basic auth lets stock pycrayon carry the token in its URL (`http://user:TOKEN@host`), since
`requests` turns URL credentials into a Basic header. Tokens are compared as bytes in constant
time: aiohttp decodes header bytes that are not UTF-8 to lone surrogates (as Python decodes a
command line), and `surrogateescape` turns both back into the bytes that were sent.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from .errors import Unauthorized

CHALLENGE = 'Bearer realm="crayon-bridge", Basic realm="crayon-bridge"'
_HOW = (
    "send 'Authorization: Bearer <token>', or HTTP Basic auth with the token as password "
    "(for pycrayon: CrayonClient('http://user:<token>@host'))"
)


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _presented_token(header: str) -> bytes:
    """Return the token an Authorization header carries, or raise Unauthorized."""
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return _bytes(credentials.strip())
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(_bytes(credentials.strip()), validate=True)
        except (binascii.Error, ValueError):
            raise Unauthorized(f"the HTTP Basic credentials are not valid base64; {_HOW}") from None
        return decoded.partition(b":")[2]
    # Not echoed: a client that sends the bare token would find it in the bridge's log.
    raise Unauthorized(f"the Authorization header is neither Bearer nor Basic; {_HOW}")


def check_token(authorization: str | None, token: str) -> None:
    """Raise Unauthorized unless the Authorization header carries `token`."""
    if not authorization:
        raise Unauthorized(f"this bridge requires an access token: {_HOW}")
    if not hmac.compare_digest(_presented_token(authorization), _bytes(token)):
        raise Unauthorized(
            "the access token is wrong; send the token the bridge was started with "
            "(its --token option or $CRAYON_BRIDGE_TOKEN)"
        )
