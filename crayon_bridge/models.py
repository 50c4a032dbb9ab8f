"""Plain values passed between the layers: parsed points and histograms."""

from __future__ import annotations

from dataclasses import dataclass


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
