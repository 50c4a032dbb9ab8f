"""JSON in and out, decided once: fast (orjson), and with NaN/Infinity kept as JSON tokens.

Python clients send a diverged loss as the tokens `NaN`, `Infinity`, `-Infinity` (the standard
library's default), and expect them back. orjson refuses them on input and writes `null` on
output, so non-finite numbers take a slower path that keeps them.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import orjson

from .errors import BadRequest

_NON_FINITE_TOKENS = {
    b'"__crayon_nan__"': b"NaN",
    b'"__crayon_inf__"': b"Infinity",
    b'"__crayon_-inf__"': b"-Infinity",
}


def loads(body: bytes) -> Any:
    """Parse a request body, accepting NaN/Infinity/-Infinity.

    Raises:
        BadRequest: the body is not JSON.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from exc


def _placeholder(value: float) -> str:
    if math.isnan(value):
        return "__crayon_nan__"
    return "__crayon_inf__" if value > 0 else "__crayon_-inf__"


def dumps(data: Any) -> bytes:
    """Serialise `data` (no non-finite floats inside) to JSON bytes."""
    return orjson.dumps(data)


def column_list(column: np.ndarray) -> list:
    """Return a numpy column as a list for `dumps_rows`, non-finite floats as placeholders."""
    values = column.tolist()
    if column.dtype.kind == "f":
        for index in np.flatnonzero(~np.isfinite(column)).tolist():
            values[index] = _placeholder(values[index])
    return values


def dumps_rows(rows: Any, *, has_placeholders: bool) -> bytes:
    """Serialise rows built from `column_list`, turning placeholders into JSON tokens.

    The rows hold only numbers, so a placeholder string cannot clash with real data.
    """
    body = orjson.dumps(rows)
    if has_placeholders:
        for placeholder, token in _NON_FINITE_TOKENS.items():
            body = body.replace(placeholder, token)
    return body


def dumps_with_non_finite(data: Any) -> bytes:
    """Serialise nested lists of numbers that may hold NaN or +-inf (the standard library's way)."""
    return json.dumps(data, separators=(",", ":")).encode()
