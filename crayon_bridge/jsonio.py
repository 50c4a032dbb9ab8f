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


def _column_list(column: np.ndarray) -> list:
    """Return a numpy column as a list, non-finite floats replaced by placeholders."""
    values = column.tolist()
    if column.dtype.kind == "f":
        for index in np.flatnonzero(~np.isfinite(column)).tolist():
            values[index] = _placeholder(values[index])
    return values


def scalar_rows(wall_time: np.ndarray, step: np.ndarray, value: np.ndarray) -> bytes:
    """Return `[[wall_time, step, value], ...]` as JSON, non-finite values as JSON tokens.

    Placeholder strings stand in for non-finite floats while orjson encodes; the rows hold only
    numbers otherwise, so replacing the placeholders afterwards cannot touch real data.
    """
    has_non_finite = not (np.isfinite(value).all() and np.isfinite(wall_time).all())
    rows = list(zip(_column_list(wall_time), step.tolist(), _column_list(value), strict=True))
    body = orjson.dumps(rows)
    if has_non_finite:
        for placeholder, token in _NON_FINITE_TOKENS.items():
            body = body.replace(placeholder, token)
    return body


def dumps_with_non_finite(data: Any) -> bytes:
    """Serialise nested lists of numbers that may hold NaN or +-inf (the standard library's way)."""
    return json.dumps(data, separators=(",", ":")).encode()
