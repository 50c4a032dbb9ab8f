"""The column-at-a-time path for large batches stores exactly what the point-by-point path does."""

from __future__ import annotations

import numpy as np
import pytest

from crayon_bridge import events
from crayon_bridge.fastparse import MIN_POINTS
from crayon_bridge.fastparse import scalar_columns as columns_of
from crayon_bridge.params import Limits, parse_scalar_body


def scalar_columns(body: list):
    return columns_of({"loss": body})


def slow_records(tag: str, body: list) -> bytes:
    """Encode through the point-by-point validator, with the fast path out of the way."""
    points = [parse_scalar_body(point, tag, Limits())[tag][0] for point in body]
    return events.scalar_records(events.scalar_prefix(tag), points)


@pytest.mark.parametrize("seed", range(5))
def test_fast_path_encodes_the_same_bytes_as_the_slow_path(seed):
    rng = np.random.default_rng(seed)
    count = 500
    steps = (rng.integers(0, 2**62, count) >> rng.integers(0, 62, count)).tolist()
    steps[0] = 0  # an omitted step field in the middle of other lengths
    steps[1] = 2**63 - 1
    body = [
        [float(rng.uniform(1, 2e9)), step, float(value)]
        for step, value in zip(steps, rng.normal(scale=1e30, size=count), strict=True)
    ]
    body[2][2] = 1e300  # beyond float32: +inf in both paths
    body[3][0] = 1700000000  # an integer wall time
    columns = columns_of({"loss/a b": body})
    assert columns is not None
    tag_field = events.scalar_prefix("loss/a b")
    assert events.columns_records([tag_field], columns) == slow_records("loss/a b", body)


def test_many_metrics_encode_the_same_bytes_as_the_slow_path():
    rng = np.random.default_rng(7)
    tags = ["a", "é" * 70, "x" * 200, "loss/train", "b"]  # one-, two-byte and long tags
    body = {
        tag: [[float(rng.uniform(1, 2e9)), int(step), float(rng.normal())] for step in steps]
        for tag, steps in zip(
            tags,
            [range(5), range(100, 140), range(2**40, 2**40 + 3), [0, 1, 2**62], range(9)],
            strict=True,
        )
    }
    columns = columns_of(body)
    assert columns is not None and columns.tags == tuple(tags)
    fields = [events.scalar_prefix(tag) for tag in tags]
    expected = b"".join(slow_records(tag, points) for tag, points in body.items())
    assert events.columns_records(fields, columns) == expected


def test_many_small_metrics_are_taken_together():
    body = {f"m{i}": [[1.5, i, 0.25]] for i in range(MIN_POINTS)}
    assert columns_of(body) is not None
    assert columns_of({**body, "empty": []}) is None


GOOD = [1.5, 3, 0.25]


@pytest.mark.parametrize(
    "odd",
    [[1.5, True, 0.25], [1.5, 3, None], [1.5, -1, 0.25], [1.5, 2.5, 0.25], [1.5, 2**64, 0.25],
     [1.5, 2**63, 0.25], [0, 3, 0.25], [1.5, 3], [1.5, 3, 0.25, 1], "x", [1.5, 3, "1"],
     [1.5, 3, 10**400]],
    ids=["bool-step", "null-value", "negative-step", "fractional-step", "step-2**64",
         "step-2**63", "zero-wall-time", "two-items", "four-items", "string", "string-value",
         "int-beyond-float"],
)  # fmt: skip
def test_fast_path_declines_anything_unusual(odd):
    body = [GOOD] * (MIN_POINTS * 2)
    assert scalar_columns(body) is not None
    assert scalar_columns([*body, odd]) is None


def test_integral_float_steps_are_taken_only_where_float64_is_exact():
    body = [[1.5, float(step), 0.25] for step in range(MIN_POINTS)]
    columns = scalar_columns(body)
    assert columns is not None and columns.step.tolist() == list(range(MIN_POINTS))
    # 2**53 + 1 next to a float step would be rounded to 2**53 by numpy: the path must decline.
    assert scalar_columns([*body, [1.5, 2**53 + 1, 0.25]]) is None


def test_fast_path_declines_small_batches():
    assert scalar_columns([GOOD] * (MIN_POINTS - 1)) is None
