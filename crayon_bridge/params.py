"""Request parsing: Crayon's query parameters and JSON bodies into validated domain values.

Pure functions that raise `BadRequest`/`PayloadTooLarge` with a message naming the input and what
was expected. A batch is validated whole before anything is stored.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote_to_bytes

import numpy as np

from .errors import BadRequest, PayloadTooLarge, clip
from .fastparse import scalar_columns
from .histogram import build_histogram
from .models import Histogram, HistogramPoint, ScalarColumns, ScalarPoint
from .names import check_metric_name

MAX_STEP = 2**63 - 1
_MAX_STEP_DIGITS = len(str(MAX_STEP))
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")
_HISTOGRAM_KEYS = ("min", "max", "num", "bucket_limit", "bucket")
_OPTIONAL_HISTOGRAM_KEYS = ("sum", "sum_squares")


@dataclass(frozen=True)
class Limits:
    """Per-request limits; each refusal is a 413 naming the limit."""

    max_batch_points: int = 1_000_000
    max_metric_name_bytes: int = 1024
    max_histogram_values: int = 10_000_000


def optional_query(query: Mapping[str, str], key: str) -> str | None:
    """Return query parameter `key`, or None when absent (repeats are refused by parse_query)."""
    return query.get(key)


def require_query(query: Mapping[str, str], key: str) -> str:
    """Return query parameter `key`, or raise BadRequest if it is missing or repeated."""
    value = query.get(key)
    if value is None:
        raise BadRequest(f"query parameter {key!r} is required")
    return value


# Clients repeat the same query strings (one experiment, a few metrics): remember the parsed ones.
@functools.lru_cache(maxsize=1024)
def parse_query(raw_query: str) -> Mapping[str, str]:
    """Return the parameters of a raw (still percent-encoded) query string, read one way only.

    aiohttp would decode invalid UTF-8 to U+FFFD, which would silently rename an experiment or
    metric; and a repeated parameter leaves open which value is meant. Both are refused here,
    for every route, before any handler runs.

    Raises:
        BadRequest: a parameter is repeated, or decodes to invalid UTF-8.
    """
    parameters: dict[str, str] = {}
    for field in raw_query.split("&"):
        if not field:
            continue
        raw_key, _, raw_value = field.partition("=")
        texts = []
        for raw in (raw_key, raw_value):
            try:
                texts.append(unquote_to_bytes(raw.replace("+", " ")).decode("utf-8"))
            except UnicodeError:
                raise BadRequest(
                    f"query parameter {clip(raw_key)} is not valid UTF-8 once percent-decoded, "
                    f"got {clip(raw)}; percent-encode names as UTF-8"
                ) from None
        key, value = texts
        if key in parameters:
            raise BadRequest(f"query parameter {clip(key)} is given more than once; give it once")
        parameters[key] = value
    return MappingProxyType(parameters)  # shared by the cache: read-only


def parse_bool(query: Mapping[str, str], key: str) -> bool | None:
    """Return a boolean query parameter (`true`/`1`/`yes`, any case), or None when absent."""
    value = query.get(key)
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise BadRequest(f"query parameter {key!r} must be true or false, got {clip(value)}")


def parse_count(query: Mapping[str, str], key: str) -> int | None:
    """Return a non-negative integer query parameter (at most 2**63-1), or None when absent."""
    value = query.get(key)
    if value is None:
        return None
    digits = value.lstrip("0") or "0"  # int() refuses over 4300 digits, leading zeros included
    plain = value.isascii() and value.isdigit() and len(digits) <= _MAX_STEP_DIGITS
    if not plain or int(digits) > MAX_STEP:
        raise BadRequest(
            f"query parameter {key!r} must be an integer from 0 to 2**63-1, got {clip(value)}"
        )
    return int(digits)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _to_float(value: int | float) -> float:
    """Return a JSON number as a float; an integer beyond float's range becomes +-inf."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _wall_time(value: Any, where: str) -> float:
    if not _is_number(value) or not math.isfinite(_to_float(value)):
        raise BadRequest(f"{where}: wall_time must be a finite number, got {clip(value)}")
    return float(value)


def _step(value: Any, where: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_STEP:
        raise BadRequest(f"{where}: step must be an integer from 0 to 2**63-1, got {clip(value)}")
    return value


def _triple(value: Any, where: str) -> tuple[Any, Any, Any]:
    if not isinstance(value, list) or len(value) != 3:
        shape = f"a list of {len(value)} items" if isinstance(value, list) else clip(value)
        raise BadRequest(f"{where}: expected [wall_time, step, value], got {shape}")
    return value[0], value[1], value[2]


def _scalar_point(value: Any, where: str) -> ScalarPoint:
    wall_time, step, number = _triple(value, where)
    if not _is_number(number):
        raise BadRequest(f"{where}: value must be a number, got {clip(number)}")
    return ScalarPoint(_wall_time(wall_time, where), _step(step, where), _to_float(number))


def _is_batch(body: Any) -> bool:
    """A batch is a list of triples; a single point is a triple whose first item is a number."""
    return isinstance(body, list) and bool(body) and isinstance(body[0], list)


def _scalar_points(body: Any, where: str) -> list[ScalarPoint]:
    if _is_batch(body):
        return [_scalar_point(item, f"{where}, point {i}") for i, item in enumerate(body)]
    return [_scalar_point(body, where)]


def _check_batch_size(count: int, limits: Limits) -> None:
    if count > limits.max_batch_points:
        raise PayloadTooLarge(
            f"batch holds {count} points; at most {limits.max_batch_points} per request"
        )


def parse_scalar_body(
    body: Any, metric: str | None, limits: Limits
) -> dict[str, list[ScalarPoint]] | ScalarColumns:
    """Return the points of a scalar POST: by metric name, or as columns for plain batches.

    With a metric name the body is `[wall_time, step, value]` or a list of them; without one it is
    `{"metric": [[wall_time, step, value], ...], ...}`. Plain batches take the column-at-a-time
    path (`fastparse`); anything it declines is checked here point by point, with the message.
    """
    if metric is not None:
        check_metric_name(metric, limits.max_metric_name_bytes)
        if not _is_batch(body):
            return {metric: [_scalar_point(body, "body")]}
        _check_batch_size(len(body), limits)
        by_metric = {metric: body}
    else:
        if not isinstance(body, dict):
            raise BadRequest(
                "without a 'name' query parameter the body must be an object "
                '{"metric": [[wall_time, step, value], ...]}, got ' + clip(body)
            )
        if not body:
            raise BadRequest(
                'the body holds no metrics: send {"metric": [[wall_time, step, value]]}'
            )
        _check_batch_size(sum(len(v) if isinstance(v, list) else 1 for v in body.values()), limits)
        for name in body:
            check_metric_name(name, limits.max_metric_name_bytes)
        by_metric = body
    columns = scalar_columns(by_metric)
    if columns is not None:
        return columns
    where = "body" if metric is not None else None
    return {
        name: _scalar_points(points, where or f"metric {clip(name)}")
        for name, points in by_metric.items()
    }


def _finite(value: Any, where: str, minimum: float | None = None) -> float:
    if not _is_number(value) or not math.isfinite(_to_float(value)):
        raise BadRequest(f"{where} must be a finite number, got {clip(value)}")
    if minimum is not None and value < minimum:
        raise BadRequest(f"{where} must be >= {minimum}, got {clip(value)}")
    return float(value)


def _number_list(value: Any, where: str, minimum: float | None = None) -> tuple[float, ...]:
    if not isinstance(value, list) or not value:
        raise BadRequest(f"{where} must be a non-empty list of numbers, got {clip(value)}")
    return tuple(_finite(item, f"{where}[{i}]", minimum) for i, item in enumerate(value))


def _prebuilt_histogram(data: dict, where: str) -> Histogram:
    missing = [key for key in _HISTOGRAM_KEYS if key not in data]
    unknown = [key for key in data if key not in _HISTOGRAM_KEYS + _OPTIONAL_HISTOGRAM_KEYS]
    if missing or unknown:
        problem = f"missing {missing}" if missing else f"unknown keys {clip(unknown)}"
        raise BadRequest(
            f"{where}: {problem}; a histogram has keys min, max, num, bucket_limit, bucket "
            "and optionally sum, sum_squares"
        )
    limits = _number_list(data["bucket_limit"], f"{where}: bucket_limit")
    counts = _number_list(data["bucket"], f"{where}: bucket", minimum=0)
    if len(limits) != len(counts):
        raise BadRequest(
            f"{where}: bucket has {len(counts)} counts but bucket_limit has {len(limits)} limits; "
            "they must be the same length"
        )
    return Histogram(
        min=_finite(data["min"], f"{where}: min"),
        max=_finite(data["max"], f"{where}: max"),
        num=_finite(data["num"], f"{where}: num", minimum=0),
        sum=_finite(data.get("sum", 0.0), f"{where}: sum"),
        sum_squares=_finite(data.get("sum_squares", 0.0), f"{where}: sum_squares"),
        bucket_limit=limits,
        bucket=counts,
    )


def _values_to_build(data: list, where: str, limits: Limits) -> Histogram:
    if not data:
        raise BadRequest(f"{where}: the values to build a histogram from must not be empty")
    if len(data) > limits.max_histogram_values:
        raise PayloadTooLarge(
            f"{where}: {len(data)} values; at most {limits.max_histogram_values} per histogram"
        )
    if not set(map(type, data)) <= {int, float}:  # bool, str, None, list, dict: refused
        bad = next(i for i, item in enumerate(data) if type(item) not in (int, float))
        raise BadRequest(
            f"{where}: value {bad} is {clip(data[bad])}; the values to build must be finite "
            "numbers in a flat list"
        )
    try:
        values = np.array(data, dtype=np.float64)
    except OverflowError:  # an integer beyond float's range
        values = np.array([_to_float(item) for item in data], dtype=np.float64)
    if not np.isfinite(values).all():
        bad = int(np.flatnonzero(~np.isfinite(values))[0])
        raise BadRequest(f"{where}: value {bad} is {clip(data[bad])}; values must be finite")
    return build_histogram(values)


def _histogram_point(
    value: Any, tobuild: bool | None, where: str, limits: Limits
) -> HistogramPoint:
    wall_time, step, data = _triple(value, where)
    wall_time, step = _wall_time(wall_time, where), _step(step, where)
    if tobuild is None:
        tobuild = isinstance(data, list)
    if tobuild:
        if not isinstance(data, list):
            raise BadRequest(f"{where}: with tobuild=true the histogram must be a list of values")
        histogram = _values_to_build(data, where, limits)
    else:
        if not isinstance(data, dict):
            raise BadRequest(
                f"{where}: with tobuild=false the histogram must be an object with keys min, "
                "max, num, bucket_limit, bucket"
            )
        histogram = _prebuilt_histogram(data, where)
    return HistogramPoint(wall_time, step, histogram)


def parse_histogram_body(
    body: Any, metric: str, tobuild: bool | None, limits: Limits
) -> list[HistogramPoint]:
    """Return the histograms of a histogram POST: `[wall_time, step, histogram]` or a list of them.

    `tobuild` None means: infer from the body (a list of values is built, an object is prebuilt).
    """
    check_metric_name(metric, limits.max_metric_name_bytes)
    if _is_batch(body):
        _check_batch_size(len(body), limits)
        return [
            _histogram_point(item, tobuild, f"histogram {i}", limits) for i, item in enumerate(body)
        ]
    return [_histogram_point(body, tobuild, "body", limits)]
