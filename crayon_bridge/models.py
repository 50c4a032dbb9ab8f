"""Plain values passed between the layers: parsed points and histograms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ScalarPoint:
    """One scalar value of a metric, as Crayon sends it: `[wall_time, step, value]`."""

    wall_time: float
    step: int
    value: float


@dataclass(frozen=True, slots=True)
class Histogram:
    """A histogram in TensorFlow's `HistogramProto` shape.

    `bucket_limit[i]` is the right edge of bucket i and `bucket[i]` its count.
    """

    min: float
    max: float
    num: float
    sum: float
    sum_squares: float
    bucket_limit: tuple[float, ...]
    bucket: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class HistogramPoint:
    """One histogram of a metric at a step."""

    wall_time: float
    step: int
    histogram: Histogram


@dataclass(frozen=True, slots=True)
class ScalarColumns:
    """Many points of one or more scalar metrics as numpy columns, encoded all at once.

    Point i belongs to metric `tags[tag_index[i]]`; `wall_time` is float64 (finite, non-zero),
    `step` int64 (>= 0), `value` float32; all columns have equal lengths. Points of one metric
    keep their order.
    """

    tags: tuple[str, ...]
    tag_index: Any
    wall_time: Any
    step: Any
    value: Any

    def __len__(self) -> int:
        return len(self.step)
