"""`max_points`: at most K points, spikes and the last point kept, same answer every time."""

from __future__ import annotations

import numpy as np
import pytest

from crayon_bridge.downsample import keep_extremes


@pytest.mark.parametrize("max_points", [1, 2, 3, 4, 10, 101, 999])
def test_keep_extremes_bounds_and_last_point(max_points):
    values = np.random.default_rng(0).normal(size=1000)
    kept = keep_extremes(values, max_points)
    assert 1 <= len(kept) <= max_points
    assert kept[-1] == 999
    assert (np.diff(kept) > 0).all()


def test_keep_extremes_keeps_every_spike_it_has_room_for():
    values = np.zeros(10_000)
    spikes = {1234: 9.0, 5000: -7.0, 8888: 5.0}
    for index, value in spikes.items():
        values[index] = value
    kept = keep_extremes(values, 50).tolist()
    assert set(spikes) <= set(kept)


def test_keep_extremes_short_series_is_kept_whole():
    values = np.arange(5.0)
    assert keep_extremes(values, 5).tolist() == [0, 1, 2, 3, 4]
    assert keep_extremes(values, 100).tolist() == [0, 1, 2, 3, 4]


def test_keep_extremes_is_deterministic():
    values = np.random.default_rng(1).normal(size=5000)
    assert keep_extremes(values, 77).tolist() == keep_extremes(values, 77).tolist()


def test_keep_extremes_keeps_nan_visible():
    values = np.ones(1000)
    values[400] = np.nan
    assert 400 in keep_extremes(values, 21).tolist()
