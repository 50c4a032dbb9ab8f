"""Cached JSON blocks give exactly the JSON of a fresh encoding, for any cursor and growth."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest

from crayon_bridge import jsonio
from crayon_bridge.rowcache import RowsCache
from crayon_bridge.series import ScalarSeries


def grown_series(count: int, seed: int = 0) -> ScalarSeries:
    rng = np.random.default_rng(seed)
    series = ScalarSeries()
    values = rng.normal(size=count).astype(np.float32)
    values[::97] = np.nan
    values[5::101] = np.inf
    series.extend(rng.uniform(1, 2e9, count), np.arange(count, dtype=np.int64), values)
    return series


def fresh(series: ScalarSeries, after: int) -> bytes:
    return jsonio.scalar_rows(*series.columns(after, len(series)))


@pytest.mark.parametrize("after", [0, 1, 15, 16, 17, 40, 63, 64, 99, 1000])
def test_cached_json_equals_fresh_encoding(after):
    cache = RowsCache(block_points=16)
    series = grown_series(70)
    for _ in range(2):  # the second read comes from the cache
        assert b"".join(cache.series_json(series, after)) == fresh(series, after)


def test_growth_after_caching_is_included():
    cache = RowsCache(block_points=16)
    series = grown_series(40)
    cache.series_json(series)
    series.append(3.0, 40, -1.0)
    for step in range(41, 70):
        series.append(3.0, step, float(step))
    body = b"".join(cache.series_json(series))
    assert body == fresh(series, 0)
    assert orjson.loads(body.replace(b"NaN", b"0").replace(b"Infinity", b"0"))[-1] == [
        3.0,
        69,
        69.0,
    ]


def test_non_finite_values_are_json_tokens():
    series = ScalarSeries()
    for step, value in enumerate([math.nan, math.inf, -math.inf, 1.5]):
        series.append(1.0, step, value)
    body = b"".join(RowsCache(block_points=2).series_json(series))
    assert body == b"[[1.0,0,NaN],[1.0,1,Infinity],[1.0,2,-Infinity],[1.0,3,1.5]]"


def test_cache_stays_within_its_byte_budget():
    cache = RowsCache(max_bytes=2000, block_points=16)
    for seed in range(5):
        series = grown_series(200, seed)
        assert b"".join(cache.series_json(series)) == fresh(series, 0)
    assert cache._bytes <= 2000
    assert sum(map(len, cache._blocks.values())) == cache._bytes
