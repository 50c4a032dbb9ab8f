"""Validating a long list of `[wall_time, step, value]` triples a whole column at a time.

A shortcut for large batches: it accepts only the plain case (every item a list of three JSON
numbers, nothing unusual) and returns None for anything else, which then goes through the
point-by-point validator in `params`, the one place that explains what is wrong. Both paths
accept and store exactly the same points.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import chain
from typing import Any

import numpy as np

from .models import ScalarColumns

# Below this many points in a request, numpy's fixed cost per call is more than it saves.
MIN_POINTS = 16
_NUMBER_TYPES = {int, float}
# With any float among the steps numpy makes them all float64, which holds integers exactly only
# below 2**53; an int above that would be rounded silently, so such batches are declined.
_EXACT_FLOAT_STEPS = float(2**53)


def _steps(values: list) -> np.ndarray | None:
    try:
        steps = np.array(values)
    except OverflowError:
        return None
    if steps.dtype == np.int64:
        return steps if steps.min() >= 0 else None
    if steps.dtype != np.float64:
        return None  # ints beyond int64 (uint64 or object arrays)
    if not ((steps >= 0) & (steps < _EXACT_FLOAT_STEPS) & (steps == np.floor(steps))).all():
        return None
    return steps.astype(np.int64)


def _flatten(points_by_metric: Mapping[str, Any]) -> tuple[list, list[int]] | None:
    """Return all triples' items in one flat list, and the point count per metric."""
    flat: list = []
    counts = []
    for points in points_by_metric.values():
        if not isinstance(points, list) or not points:
            return None
        if set(map(type, points)) != {list} or set(map(len, points)) != {3}:
            return None
        flat.extend(chain.from_iterable(points))
        counts.append(len(points))
    return flat, counts


def scalar_columns(points_by_metric: Mapping[str, Any]) -> ScalarColumns | None:
    """Return the points as columns if they are plain lists of valid triples, else None.

    `points_by_metric` maps each metric name to its `[[wall_time, step, value], ...]`; fewer
    than MIN_POINTS points in all is left to the point-by-point path too.
    """
    flattened = _flatten(points_by_metric)
    if flattened is None:
        return None
    flat, counts = flattened
    if len(flat) < 3 * MIN_POINTS or not set(map(type, flat)) <= _NUMBER_TYPES:
        return None
    try:
        wall_time = np.array(flat[0::3], dtype=np.float64)
        value = np.array(flat[2::3], dtype=np.float64)
    except OverflowError:  # an integer beyond float64: let the validator explain
        return None
    if not (np.isfinite(wall_time).all() and (wall_time != 0).all()):
        return None  # a zero wall time is encoded differently (proto3 omits it)
    steps = _steps(flat[1::3])
    if steps is None:
        return None
    with np.errstate(over="ignore"):  # beyond float32's range is +-inf, as simple_value holds
        value32 = value.astype(np.float32)
    tag_index = np.repeat(np.arange(len(counts)), counts)
    return ScalarColumns(tuple(points_by_metric), tag_index, wall_time, steps, value32)
