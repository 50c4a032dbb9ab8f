"""Turning user values (lists, numpy arrays, tensors) into what the bridge accepts.

numpy is optional and imported lazily: without it, values are flattened into Python floats.
"""

from __future__ import annotations

import functools
import math
import sys
from typing import Any

DBL_MAX = sys.float_info.max
MAX_STEP = 2**63 - 1


def check_step(step: Any) -> int:
    """Return `step` as an int >= 0 (numpy/torch integers accepted), or raise ValueError."""
    if type(step) is not int:
        try:
            step = int(step)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"step must be an integer, got {step!r}") from exc
    if not 0 <= step <= MAX_STEP:
        raise ValueError(f"step must be between 0 and 2**63-1, got {step}")
    return step


def check_wall_time(wall_time: Any) -> float:
    """Return `wall_time` (seconds since the epoch) as a finite float, or raise ValueError."""
    try:
        value = float(wall_time)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"wall time must be a number, got {wall_time!r}") from exc
    if not math.isfinite(value):
        raise ValueError(f"wall time must be finite, got {wall_time!r}")
    return value


def check_name(name: Any, what: str = "name") -> str:
    """Return `name` if it is a non-empty string the bridge can store, or raise.

    TypeError for non-strings; ValueError for an empty name, a NUL or a lone surrogate (it cannot
    be sent as UTF-8). The bridge checks the rest (length, '/' in experiment names, ...).
    """
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a string, got {type(name).__name__} {name!r}")
    if not name:
        raise ValueError(f"{what} must not be empty")
    if "\x00" in name:
        raise ValueError(f"{what} {name!r} must not contain NUL characters")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} {name!r} is not valid Unicode: {exc.reason}") from exc
    return name


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy is present in the test environment
        return None
    return numpy


def _unwrap_tensor(values: Any) -> Any:
    """Get an array out of a torch/jax/tf tensor without importing their libraries."""
    if isinstance(values, (list, tuple)):
        return values
    # A torch tensor needs detach() (if it requires grad) and cpu() (if on a GPU) first.
    for name in ("detach", "cpu", "numpy"):
        method = getattr(values, name, None)
        if callable(method):
            values = method()
    return values


def flat_values(values: Any) -> Any:
    """Copy `values` into a flat float64 numpy array (a list of floats if numpy is missing).

    Accepts lists (nested too), tuples, numpy arrays, and objects with `.numpy()` or
    `__array__` such as torch tensors. The copy is taken now, so later changes to a tensor do
    not change what is logged.
    """
    values = _unwrap_tensor(values)
    numpy = _numpy()
    if numpy is not None:
        try:
            array = numpy.array(values, dtype=numpy.float64).ravel()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"histogram values must be numbers: {exc}") from exc
        return array
    return [float(value) for value in _flatten(values)]


def _flatten(values: Any) -> Any:
    if isinstance(values, (int, float)):
        yield values
        return
    for value in values:
        if isinstance(value, (list, tuple)):
            yield from _flatten(value)
        else:
            yield value


def as_float_list(values: Any) -> list[float]:
    """Flatten `values` into a list of floats, for a `tobuild=true` body."""
    flat = flat_values(values)
    return flat if isinstance(flat, list) else flat.tolist()


def check_histogram_values(flat: Any) -> None:
    """Raise ValueError if flat values are empty or hold NaN or an infinity (no bucket for them)."""
    if len(flat) == 0:
        raise ValueError("histogram values must not be empty")
    numpy = _numpy()
    if numpy is not None and not isinstance(flat, list):
        finite = bool(numpy.isfinite(flat).all())
    else:
        finite = all(math.isfinite(value) for value in flat)
    if not finite:
        raise ValueError("histogram values must be finite (no NaN or infinity)")


@functools.lru_cache(maxsize=1)
def default_bucket_limits() -> tuple[float, ...]:
    """TensorFlow's default histogram bucket limits (tensorflow/core/lib/histogram)."""
    positive = []
    value = 1e-12
    while value < 1e20:
        positive.append(value)
        value *= 1.1
    negative = [-limit for limit in reversed(positive)]
    return (-DBL_MAX, *negative, 0.0, *positive, DBL_MAX)


def _first_equal(flat: Any, extreme: Any) -> float:
    """The first value equal to `extreme` (TensorFlow keeps the first of 0.0 and -0.0)."""
    numpy = _numpy()
    if extreme == 0.0:
        return float(flat[int(numpy.argmax(flat == 0.0))])
    return float(extreme)


def build_histogram(flat: Any) -> dict[str, Any]:
    """Build TensorFlow's default histogram of a non-empty, finite, flat float64 numpy array.

    What the bridge answers for `tobuild=true`, bit for bit: the same limits; bucket i holds
    `limit[i-1] <= v < limit[i]` (a value equal to DBL_MAX goes to the last one); sums accumulated
    one value at a time from +0.0 (`cumsum` is sequential, `sum` is not); runs of empty buckets
    collapsed into one entry carrying the run's last limit. Building here saves sending every
    value (a 1,000,000-weight layer is a 20 MB JSON list, and a 20 kB histogram).
    """
    numpy = _numpy()
    limits = numpy.array(default_bucket_limits())
    below = numpy.searchsorted(numpy.sort(flat), limits, side="left")
    below[-1] = flat.size
    counts = numpy.diff(below, prepend=0)
    nonzero = counts != 0
    keep = nonzero.copy()
    keep[:-1] |= nonzero[1:]  # an empty bucket is kept when it ends a run of empty ones
    keep[-1] = True
    with numpy.errstate(over="ignore"):
        total = float(numpy.cumsum(flat)[-1]) + 0.0
        total_squares = float(numpy.cumsum(flat * flat)[-1]) + 0.0
    return {
        "min": _first_equal(flat, flat.min()),
        "max": _first_equal(flat, flat.max()),
        "num": float(flat.size),
        "sum": total,
        "sum_squares": total_squares,
        "bucket_limit": limits[keep].tolist(),
        "bucket": counts[keep].astype(numpy.float64).tolist(),
    }


def histogram_payload(flat: Any) -> tuple[Any, bool]:
    """Return `(histogram, tobuild)` for checked flat values: built here with numpy, else raw."""
    if isinstance(flat, list):
        return flat, True
    return build_histogram(flat), False
