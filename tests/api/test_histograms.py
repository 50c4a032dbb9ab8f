"""Histograms: prebuilt (tobuild=false), built by the bridge (tobuild=true), and read back."""

from __future__ import annotations

import sys

import pytest

from bridge_support import assert_api_error
from crayon_bridge.histogram import build_histogram

DBL_MAX = sys.float_info.max
PREBUILT = {"min": -1.0, "max": 2.0, "num": 3, "bucket_limit": [0.0, 2.0], "bucket": [1, 2]}


@pytest.fixture
async def xp(client):
    await client.post("/data", json="xp")


async def post(client, body, **params):
    return await client.post(
        "/data/histograms", params={"xp": "xp", "name": "w", **params}, json=body
    )


async def get_histograms(client):
    response = await client.get("/data/histograms", params={"xp": "xp", "name": "w"})
    assert response.status == 200, await response.text()
    return await response.json()


@pytest.mark.parametrize("tobuild", ["false", "False", "0", None])
async def test_prebuilt_histogram_round_trips(client, xp, tobuild):
    params = {} if tobuild is None else {"tobuild": tobuild}
    assert (await post(client, [10.0, 4, PREBUILT], **params)).status == 200
    expected = [-1.0, 2.0, 3.0, 0.0, 0.0, [0.0, 2.0], [1.0, 2.0]]
    assert await get_histograms(client) == [[10.0, 4, expected]]


@pytest.mark.parametrize("tobuild", ["true", "True", "1", None])
async def test_built_histogram_equals_tensorflow_algorithm(client, xp, tobuild):
    values = [0.5, -0.25, 3.0, 3.0, 1e-13, 0.0, -7.5]
    params = {} if tobuild is None else {"tobuild": tobuild}
    assert (await post(client, [1.0, 0, values], **params)).status == 200
    h = build_histogram(values)
    row = [h.min, h.max, h.num, h.sum, h.sum_squares, list(h.bucket_limit), list(h.bucket)]
    assert await get_histograms(client) == [[1.0, 0, row]]
    assert row[5][-1] == DBL_MAX


async def test_histogram_batch_is_stored_in_order(client, xp):
    body = [[1.0, 0, [1.0, 2.0]], [2.0, 1, PREBUILT]]
    assert (await post(client, body)).status == 200
    assert [row[1] for row in await get_histograms(client)] == [0, 1]


@pytest.mark.parametrize(
    ("body", "params", "fragment"),
    [
        ([1.0, 0, {"min": 0}], {"tobuild": "false"}, "missing"),
        ([1.0, 0, [1.0]], {"tobuild": "false"}, "with tobuild=false"),
        ([1.0, 0, PREBUILT], {"tobuild": "true"}, "with tobuild=true"),
        ([1.0, 0, []], {"tobuild": "true"}, "must not be empty"),
        ([1.0, 0, {**PREBUILT, "bucket": [1]}], {}, "same length"),
        ([1.0, 0, {**PREBUILT, "bucket": [1, -2]}], {}, "must be >= 0"),
        ([1.0, 0, {**PREBUILT, "extra": 1}], {}, "unknown keys"),
        ([1.0, 0, [1.0]], {"tobuild": "maybe"}, "must be true or false"),
    ],
    ids=[
        "missing-keys",
        "list-but-prebuilt",
        "object-but-build",
        "empty-values",
        "length-mismatch",
        "negative-count",
        "unknown-key",
        "bad-tobuild",
    ],
)
async def test_bad_histogram_is_400_and_stores_nothing(client, xp, body, params, fragment):
    assert (await post(client, [1.0, 0, PREBUILT])).status == 200
    before = await get_histograms(client)
    await assert_api_error(await post(client, body, **params), 400, fragment)
    assert await get_histograms(client) == before


async def test_get_unknown_histogram_is_404(client, xp):
    response = await client.get("/data/histograms", params={"xp": "xp", "name": "nope"})
    await assert_api_error(response, 404, "unknown histogram metric 'nope'")
