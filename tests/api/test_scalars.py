"""Scalars: POST one point, a batch, or points by metric; GET them back in logging order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bridge_support import assert_api_error


def f32(value: float) -> float:
    """What a `simple_value` holds for `value`."""
    with np.errstate(over="ignore"):
        return float(np.float32(value))


@pytest.fixture
async def xp(client):
    await client.post("/data", json="xp")
    return "xp"


async def post(client, body, **params):
    return await client.post("/data/scalars", params={"xp": "xp", **params}, json=body)


async def get_points(client, name="loss", **params):
    response = await client.get("/data/scalars", params={"xp": "xp", "name": name, **params})
    assert response.status == 200, await response.text()
    return await response.json()


async def test_post_scalar_then_get_returns_it_at_once(client, xp):
    response = await post(client, [1500000000.25, 3, 0.1], name="loss")
    assert response.status == 200
    assert await get_points(client) == [[1500000000.25, 3, f32(0.1)]]


async def test_scalars_come_back_in_logging_order_with_float32_values(client, xp):
    points = [
        [1.0 + i, step, value] for i, (step, value) in enumerate([(5, 1.5), (2, -3.3), (9, 1e-8)])
    ]
    for point in points:
        assert (await post(client, point, name="loss")).status == 200
    expected = [[wt, step, f32(value)] for wt, step, value in points]
    assert await get_points(client) == expected


async def test_post_batch_of_triples_stores_all(client, xp):
    batch = [[100.0 + i, i, i * 0.5] for i in range(1000)]
    assert (await post(client, batch, name="loss")).status == 200
    assert await get_points(client) == [[wt, s, f32(v)] for wt, s, v in batch]


async def test_post_points_by_metric_without_name(client, xp):
    body = {"loss": [[1.0, 0, 2.0], [2.0, 1, 1.0]], "acc/top 1": [[1.0, 0, 0.5]]}
    assert (await post(client, body)).status == 200
    assert await get_points(client, "loss") == [[1.0, 0, 2.0], [2.0, 1, 1.0]]
    assert await get_points(client, "acc/top 1") == [[1.0, 0, 0.5]]


async def test_batch_with_one_bad_point_stores_nothing(client, xp):
    await post(client, [1.0, 0, 1.0], name="loss")
    bad = {"loss": [[2.0, 1, 2.0]], "acc": [[2.0, 1, 2.0], [3.0, -1, 1.0]]}
    await assert_api_error(await post(client, bad), 400, "metric 'acc', point 1", "step")
    assert await get_points(client) == [[1.0, 0, 1.0]]
    await assert_api_error(
        await client.get("/data/scalars", params={"xp": "xp", "name": "acc"}), 404, "'acc'"
    )


async def test_non_finite_values_round_trip_as_json_tokens(client, xp):
    body = b"[[1.0, 0, NaN], [2.0, 1, Infinity], [3.0, 2, -Infinity], [4.0, 3, 1e300]]"
    response = await client.post("/data/scalars", params={"xp": "xp", "name": "loss"}, data=body)
    assert response.status == 200, await response.text()
    raw = await (await client.get("/data/scalars", params={"xp": "xp", "name": "loss"})).text()
    assert raw == "[[1.0,0,NaN],[2.0,1,Infinity],[3.0,2,-Infinity],[4.0,3,Infinity]]"


async def test_integral_float_step_is_accepted_as_int(client, xp):
    assert (await post(client, [1.0, 7.0, 1.0], name="loss")).status == 200
    assert await get_points(client) == [[1.0, 7, 1.0]]


async def test_after_returns_points_after_the_first_n(client, xp):
    await post(client, [[float(i), i, float(i)] for i in range(10)], name="loss")
    assert await get_points(client, after=7) == [[7.0, 7, 7.0], [8.0, 8, 8.0], [9.0, 9, 9.0]]
    assert await get_points(client, after=10) == []
    assert await get_points(client, after=99) == []


async def test_max_points_keeps_spikes_and_the_last_point(client, xp):
    values = [0.0] * 1000
    values[123], values[777] = 50.0, -40.0
    await post(client, [[float(i), i, v] for i, v in enumerate(values)], name="loss")
    points = await get_points(client, max_points=21)
    assert len(points) <= 21
    kept = {step: value for _, step, value in points}
    assert kept[123] == 50.0 and kept[777] == -40.0
    assert points[-1] == [999.0, 999, 0.0]
    assert [p[1] for p in points] == sorted(p[1] for p in points)


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({"xp": "nope", "name": "loss"}, 404, "unknown experiment 'nope'"),
        ({"xp": "xp", "name": "nope"}, 404, "unknown scalar metric 'nope'"),
        ({"name": "loss"}, 400, "'xp' is required"),
        ({"xp": "xp"}, 400, "'name' is required"),
        ({"xp": "xp", "name": "loss", "after": "-1"}, 400, "'after'"),
        ({"xp": "xp", "name": "loss", "max_points": "x"}, 400, "'max_points'"),
        ({"xp": "xp", "name": "loss", "max_points": "0"}, 400, "at least 1"),
    ],
    ids=[
        "unknown-xp",
        "unknown-metric",
        "no-xp",
        "no-name",
        "bad-after",
        "bad-max-points",
        "zero-max-points",
    ],
)
async def test_get_scalars_errors(client, xp, params, status, fragment):
    await post(client, [1.0, 0, 1.0], name="loss")
    await assert_api_error(await client.get("/data/scalars", params=params), status, fragment)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ([1.0, 0], "got a list of 2 items"),
        ([1.0, 0, "x"], "value must be a number"),
        ([1.0, 0, True], "value must be a number"),
        ([1.0, 0.5, 1.0], "step must be an integer"),
        ([1.0, 2**63, 1.0], "step must be an integer"),
        ([None, 0, 1.0], "wall_time must be a finite number"),
        ({"a": 1}, "expected [wall_time, step, value]"),
    ],
    ids=[
        "two-items",
        "string-value",
        "bool-value",
        "fractional-step",
        "huge-step",
        "null-time",
        "object",
    ],
)
async def test_post_scalars_bad_body_is_400_and_stores_nothing(client, xp, body, fragment):
    await post(client, [1.0, 0, 1.0], name="loss")
    await assert_api_error(await post(client, body, name="loss"), 400, fragment)
    assert await get_points(client) == [[1.0, 0, 1.0]]


async def test_post_scalars_to_unknown_experiment_is_404(client):
    await assert_api_error(
        await client.post("/data/scalars", params={"xp": "nope", "name": "a"}, json=[1, 0, 1]),
        404,
        "unknown experiment",
    )


async def test_value_above_float32_range_reads_back_as_infinity(client, xp):
    await post(client, [1.0, 0, -1e39], name="loss")
    [[_, _, value]] = await get_points(client)
    assert value == -math.inf
