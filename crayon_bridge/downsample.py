"""Choosing at most K points of a long series so that its shape, spikes included, survives."""

from __future__ import annotations

import numpy as np


def keep_extremes(values: np.ndarray, max_points: int) -> np.ndarray:
    """Return sorted indices of at most `max_points` points of `values` worth showing.

    The series is cut into (max_points - 1) // 2 runs of consecutive points; each run keeps its
    smallest and largest value (a NaN counts as both), and the last point is always kept. A
    series already short enough is kept whole. Never a random sample: the same input always
    gives the same points.
    """
    count = len(values)
    if count <= max_points:
        return np.arange(count)
    runs = (max_points - 1) // 2
    if runs == 0:
        return np.arange(count - max_points, count)
    edges = np.linspace(0, count - 1, runs + 1).astype(np.int64)
    chosen = [count - 1]
    for start, stop in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        if stop <= start:
            continue
        run = values[start:stop]
        chosen.append(start + int(np.argmin(run)))
        chosen.append(start + int(np.argmax(run)))
    return np.unique(np.asarray(chosen, dtype=np.int64))
