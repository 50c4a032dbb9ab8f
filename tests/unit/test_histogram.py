"""build_histogram against a plain transcription of TensorFlow's histogram.cc, bit for bit."""

from __future__ import annotations

import bisect
import itertools
import struct
import sys

import numpy as np
import pytest

from crayon_bridge.histogram import (
    _SORT_MIN_SIZE,
    DEFAULT_BUCKET_LIMITS,
    EMPTY_HISTOGRAM,
    build_histogram,
)
from crayon_bridge.models import Histogram

DBL_MAX = sys.float_info.max


# --- Reference: histogram.cc transcribed line by line, one value at a time. ---


def reference_limits() -> list[float]:
    """InitDefaultBucketsInner()."""
    buckets: list[float] = []
    neg_buckets: list[float] = []
    v = 1.0e-12
    while v < 1.0e20:
        buckets.append(v)
        neg_buckets.append(-v)
        v *= 1.1
    buckets.append(DBL_MAX)
    neg_buckets.append(-DBL_MAX)
    neg_buckets.reverse()
    return [*neg_buckets, 0.0, *buckets]


def reference_histogram(values: list[float]) -> Histogram:
    """Clear(), Add(v) for each value, EncodeToProto(preserve_zero_buckets=false)."""
    limits = reference_limits()
    buckets = [0.0] * len(limits)
    min_, max_, num, sum_, sum_squares = limits[-1], -DBL_MAX, 0.0, 0.0, 0.0
    for raw in values:
        value = float(raw)
        b = bisect.bisect_right(limits, value)  # std::upper_bound
        # TensorFlow writes one past the end for DBL_MAX (undefined); the bridge uses the last.
        buckets[min(b, len(buckets) - 1)] += 1.0
        if min_ > value:
            min_ = value
        if max_ < value:
            max_ = value
        num += 1
        sum_ += value
        sum_squares += value * value

    out_limits: list[float] = []
    out_counts: list[float] = []
    i = 0
    while i < len(buckets):
        end = limits[i]
        count = buckets[i]
        i += 1
        if count <= 0.0:
            while i < len(buckets) and buckets[i] <= 0.0:
                end = limits[i]
                count = buckets[i]
                i += 1
        out_limits.append(end)
        out_counts.append(count)
    if not out_limits:
        out_limits.append(DBL_MAX)
        out_counts.append(0.0)
    return Histogram(min_, max_, num, sum_, sum_squares, tuple(out_limits), tuple(out_counts))


def bits(h: Histogram) -> tuple[object, ...]:
    """Every field as raw IEEE-754 bytes, so -0.0 != 0.0 and the comparison is bit for bit."""

    def b(x: float) -> bytes:
        assert type(x) is float
        return struct.pack("<d", x)

    return (
        b(h.min),
        b(h.max),
        b(h.num),
        b(h.sum),
        b(h.sum_squares),
        tuple(b(x) for x in h.bucket_limit),
        tuple(b(x) for x in h.bucket),
    )


def assert_matches_reference(values: list[float]) -> Histogram:
    got = build_histogram(values)
    assert bits(got) == bits(reference_histogram(values))
    return got


# --- Bucket limits. ---


def test_default_bucket_limits_construction_matches_tensorflow() -> None:
    limits = DEFAULT_BUCKET_LIMITS
    assert list(limits) == reference_limits()
    assert len(limits) == 1551  # 774 positive, 774 negative, 0, and -DBL_MAX/DBL_MAX
    assert limits[0] == -DBL_MAX
    assert limits[-1] == DBL_MAX
    assert limits[775] == 0.0
    assert limits[776] == 1e-12
    assert limits[-2] < 1e20
    assert all(a < b for a, b in itertools.pairwise(limits))
    assert [-x for x in reversed(limits)] == list(limits)


# --- Against the reference. ---


@pytest.mark.parametrize("scale", [1.0, 1e-9, 1e6])
def test_build_histogram_random_normal_matches_reference(scale: float) -> None:
    values = (np.random.default_rng(20240601).standard_normal(10_000) * scale).tolist()
    h = assert_matches_reference(values)
    assert h.num == 10_000.0
    assert sum(h.bucket) == 10_000.0


def test_build_histogram_values_on_limits_go_to_next_bucket() -> None:
    limits = reference_limits()
    values = [limits[i] for i in (1, 2, 500, 774, 775, 776, 777, 1000, 1549)]
    h = assert_matches_reference(values)
    nonempty = {limit for limit, count in zip(h.bucket_limit, h.bucket, strict=True) if count}
    assert nonempty == {limits[i + 1] for i in (1, 2, 500, 774, 775, 776, 777, 1000, 1549)}


def test_build_histogram_zeros_go_to_first_positive_bucket() -> None:
    h = assert_matches_reference([0.0, 0.0, 0.0])
    assert h.bucket_limit == (0.0, 1e-12, DBL_MAX)  # the empty run before ends at limit 0.0
    assert h.bucket == (0.0, 3.0, 0.0)
    assert (h.min, h.max, h.sum, h.sum_squares) == (0.0, 0.0, 0.0, 0.0)


def test_build_histogram_negative_values_matches_reference() -> None:
    values = (-np.abs(np.random.default_rng(7).standard_normal(1_000))).tolist()
    h = assert_matches_reference(values)
    assert h.max < 0.0
    assert all(limit <= 0.0 for limit, count in zip(h.bucket_limit, h.bucket, strict=True) if count)


def test_build_histogram_huge_values_go_to_edge_buckets() -> None:
    h = assert_matches_reference([1e25, -1e25])
    limits = reference_limits()
    # Bucket 0 (limit -DBL_MAX) stays empty for every finite value: -1e25 lands in bucket 1.
    assert h.bucket_limit == (-DBL_MAX, limits[1], limits[-2], DBL_MAX)
    assert h.bucket == (0.0, 1.0, 0.0, 1.0)


def test_build_histogram_extreme_doubles_stay_in_range() -> None:
    h = assert_matches_reference([DBL_MAX, -DBL_MAX, DBL_MAX])
    assert h.bucket_limit[-1] == DBL_MAX
    assert h.bucket[-1] == 2.0
    assert h.bucket[h.bucket_limit.index(reference_limits()[1])] == 1.0
    assert h.sum == DBL_MAX
    assert h.sum_squares == float("inf")


def test_build_histogram_single_value_matches_reference() -> None:
    h = assert_matches_reference([3.5])
    assert (h.min, h.max, h.num, h.sum, h.sum_squares) == (3.5, 3.5, 1.0, 3.5, 12.25)
    assert h.bucket.count(1.0) == 1
    assert len(h.bucket) == 3  # empty run, the value's bucket, empty run


def test_build_histogram_many_equal_values_matches_reference() -> None:
    h = assert_matches_reference([0.1] * 10_001)
    assert h.bucket.count(10_001.0) == 1


def test_build_histogram_mixed_inputs_match_reference() -> None:
    rng = np.random.default_rng(3)
    values = [
        *rng.standard_normal(300).tolist(),
        *(rng.standard_normal(300) * 1e15).tolist(),
        *(rng.standard_normal(300) * 1e-14).tolist(),
        *[0.0, -0.0, 1e-12, -1e-12, 5e-13, -5e-13, 1.0, -1.0],
    ]
    rng.shuffle(values)
    assert_matches_reference(values)


@pytest.mark.parametrize("size", [_SORT_MIN_SIZE - 1, _SORT_MIN_SIZE, 3 * _SORT_MIN_SIZE])
def test_build_histogram_either_counting_path_matches_reference(size: int) -> None:
    # Small inputs search the limits per value, large ones sort the values: same counts.
    limits = reference_limits()
    edges = [DBL_MAX, -DBL_MAX, 0.0, -0.0, *limits[1:-1:5], *(np.nextafter(limits[1:-1:9], 0))]
    rng = np.random.default_rng(size)
    values = [*edges, *(rng.standard_normal(size - len(edges)) * 1e3).tolist()]
    rng.shuffle(values)
    assert len(values) == size
    assert_matches_reference(values)


# --- Empty input and the signs of zero. ---


@pytest.mark.parametrize("values", [[], np.array([]), np.zeros((0, 3))])
def test_build_histogram_empty_input_encodes_one_empty_bucket(values: object) -> None:
    h = build_histogram(values)
    assert h == EMPTY_HISTOGRAM
    assert bits(h) == bits(reference_histogram([]))
    assert h.bucket_limit == (DBL_MAX,)
    assert h.bucket == (0.0,)
    assert (h.min, h.max, h.num, h.sum, h.sum_squares) == (DBL_MAX, -DBL_MAX, 0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    "values", [[0.0, -0.0, 1.0], [-0.0, 0.0, 1.0], [0.0, -0.0, -1.0], [-0.0, 0.0, -1.0]]
)
def test_build_histogram_equal_zeros_keeps_first_zero_sign(values: list[float]) -> None:
    assert_matches_reference(values)


def test_build_histogram_all_negative_zeros_sum_is_positive_zero() -> None:
    h = assert_matches_reference([-0.0, -0.0])
    assert struct.pack("<d", h.sum) == struct.pack("<d", 0.0)
    assert struct.pack("<d", h.min) == struct.pack("<d", -0.0)


# --- Sums are sequential, not pairwise or exactly rounded. ---


def sequential_sum(values: list[float]) -> float:
    total = 0.0
    for v in values:
        total += v
    return total


def test_build_histogram_sum_where_pairwise_differs_is_sequential() -> None:
    # Sequentially each 1e-16 is lost against 1.0; numpy's pairwise sum gathers them first.
    values = [1.0] + [1e-16] * 15
    assert float(np.sum(values)) != sequential_sum(values)  # the input does separate the two
    h = build_histogram(values)
    assert h.sum == sequential_sum(values) == 1.0


def test_build_histogram_sum_squares_where_pairwise_differs_is_sequential() -> None:
    values = [1.0] + [1e-8] * 15  # squares: 1.0 and fifteen 1e-16
    squares = [v * v for v in values]
    assert float(np.sum(squares)) != sequential_sum(squares)
    assert build_histogram(values).sum_squares == sequential_sum(squares) == 1.0


def test_build_histogram_random_sums_differ_from_numpy_sum_but_match_loop() -> None:
    values = np.random.default_rng(11).standard_normal(100_000)
    h = build_histogram(values)
    as_list = values.tolist()
    assert h.sum == sequential_sum(as_list)
    assert h.sum_squares == sequential_sum([v * v for v in as_list])
    assert float(np.sum(values)) != h.sum  # shows what the pairwise sum would have got wrong


def test_build_histogram_order_of_values_changes_sum_like_tensorflow() -> None:
    values = [1e16, 1.0, -1e16, 1.0]
    assert build_histogram(values).sum == 1.0
    assert build_histogram(values[::-1]).sum == sequential_sum(values[::-1])


# --- Input forms and output types. ---


def test_build_histogram_numpy_and_integer_inputs_match_list_of_floats() -> None:
    rng = np.random.default_rng(5)
    floats32 = rng.standard_normal((20, 10)).astype(np.float32)
    expected = build_histogram([float(v) for v in floats32.ravel()])
    assert bits(build_histogram(floats32)) == bits(expected)
    ints = [3, -7, 0, 2**40]
    assert bits(build_histogram(ints)) == bits(reference_histogram([float(v) for v in ints]))


def test_build_histogram_fields_are_python_floats() -> None:
    h = build_histogram(np.arange(5, dtype=np.int64))
    for value in (h.min, h.max, h.num, h.sum, h.sum_squares, *h.bucket_limit, *h.bucket):
        assert type(value) is float
    assert isinstance(h.bucket_limit, tuple)
    assert isinstance(h.bucket, tuple)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_build_histogram_non_finite_value_raises(bad: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        build_histogram([1.0, bad, 2.0])
