"""In-memory columns of one metric, rebuilt from event files and extended as they grow.

Scalars live in three typed arrays (20 bytes a point), so a long series costs little memory and
turns into JSON without per-point Python objects lingering between requests.
"""

from __future__ import annotations

from array import array
from itertools import count

import numpy as np

from .models import HistogramPoint

_tokens = count()


class ScalarSeries:
    """The points of one scalar metric, in logging order.

    `token` names this series for caches: unlike `id()`, it is never reused by another series.
    """

    __slots__ = ("step", "token", "value", "wall_time")

    def __init__(self) -> None:
        self.token = next(_tokens)
        self.wall_time = array("d")
        self.step = array("q")
        self.value = array("f")

    def __len__(self) -> int:
        return len(self.step)

    def append(self, wall_time: float, step: int, value: float) -> None:
        """Add one point at the end."""
        self.wall_time.append(wall_time)
        self.step.append(step)
        self.value.append(value)

    def extend(self, wall_time: np.ndarray, step: np.ndarray, value: np.ndarray) -> None:
        """Add many points at the end, from numpy columns."""
        self.wall_time.frombytes(wall_time.astype("=f8").tobytes())
        self.step.frombytes(step.astype("=i8").tobytes())
        self.value.frombytes(value.astype("=f4").tobytes())

    def columns(self, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, ...]:
        """Return copies of `(wall_time, step, value)` for points `start:stop`.

        Copies, because the arrays may grow (and move) while the caller encodes them.
        """
        stop = len(self) if stop is None else stop
        return tuple(
            np.frombuffer(column, dtype=column.typecode)[start:stop].copy()
            for column in (self.wall_time, self.step, self.value)
        )


class HistogramSeries:
    """The histograms of one metric, in logging order, as Crayon's JSON rows."""

    __slots__ = ("rows",)

    def __init__(self) -> None:
        self.rows: list[list] = []

    def __len__(self) -> int:
        return len(self.rows)

    def append(self, point: HistogramPoint) -> None:
        """Add one histogram at the end."""
        hist = point.histogram
        self.rows.append(
            [
                point.wall_time,
                point.step,
                [
                    hist.min,
                    hist.max,
                    hist.num,
                    hist.sum,
                    hist.sum_squares,
                    list(hist.bucket_limit),
                    list(hist.bucket),
                ],
            ]
        )
