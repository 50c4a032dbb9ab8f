"""The stock pycrayon 0.5 client from PyPI, unmodified, through a whole session."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pycrayon import CrayonClient

pytestmark = pytest.mark.e2e


def f32(value: float) -> float:
    return float(np.float32(value))


def connect(server) -> CrayonClient:
    return CrayonClient(hostname="http://127.0.0.1", port=server.port)


def test_pycrayon_whole_workflow(live_server, tmp_path):
    cc = connect(live_server)
    assert cc.get_experiment_names() == []

    foo = cc.create_experiment("foo bar ü")
    foo.add_scalar_value("loss", 2.5, wall_time=100.0)
    foo.add_scalar_value("loss", 1.5, wall_time=101.0)
    foo.add_scalar_value("lr", 0.1, wall_time=100.0, step=10)
    foo.add_scalar_dict({"acc": 0.5, "top 5": 0.75}, wall_time=102.0, step=3)
    hist = {"min": 0.0, "max": 1.0, "num": 2, "bucket_limit": [0.5, 1.0], "bucket": [1, 1]}
    foo.add_histogram_value("weights", hist, wall_time=100.0, step=0)
    foo.add_histogram_value("built", [0.1, 0.2, -1.0], tobuild=True, wall_time=100.0, step=0)

    assert foo.get_scalar_values("loss") == [[100.0, 0, 2.5], [101.0, 1, 1.5]]
    assert foo.get_scalar_values("lr") == [[100.0, 10, f32(0.1)]]
    assert foo.get_scalar_values("top 5") == [[102.0, 3, 0.75]]
    assert sorted(foo.get_scalar_names()) == ["acc", "loss", "lr", "top 5"]
    assert sorted(foo.get_histogram_names()) == ["built", "weights"]
    [[_, _, weights]] = foo.get_histogram_values("weights")
    assert weights == [0.0, 1.0, 2.0, 0.0, 0.0, [0.5, 1.0], [1.0, 1.0]]
    [[_, _, built]] = foo.get_histogram_values("built")
    assert built[:3] == [-1.0, 0.2, 3.0] and math.isclose(built[3], -0.7)

    # Opening an existing experiment continues its steps.
    again = cc.open_experiment("foo bar ü")
    again.add_scalar_value("loss", 0.5, wall_time=103.0)
    assert again.get_scalar_values("loss")[-1] == [103.0, 2, 0.5]

    # Backup, then restore under a new name.
    zip_path = foo.to_zip(str(tmp_path / "backup"))
    copy = cc.create_experiment("copy", zip_file=zip_path)
    for name in ("loss", "lr", "acc", "top 5"):
        assert copy.get_scalar_values(name) == foo.get_scalar_values(name)
    assert copy.get_histogram_values("built") == foo.get_histogram_values("built")
    assert sorted(cc.get_experiment_names()) == ["copy", "foo bar ü"]

    with pytest.raises(ValueError, match="already exists"):
        cc.create_experiment("copy")
    cc.remove_experiment("copy")
    assert cc.get_experiment_names() == ["foo bar ü"]
    with pytest.raises(ValueError, match="unknown experiment"):
        cc.open_experiment("copy")
    cc.remove_all_experiments()
    assert cc.get_experiment_names() == []


def test_pycrayon_continues_steps_after_restart(live_server):
    cc = connect(live_server)
    xp = cc.create_experiment("persist")
    for value in (3.0, 2.0, 1.0):
        xp.add_scalar_value("loss", value, wall_time=1.0)
    live_server.restart()
    cc = connect(live_server)
    again = cc.open_experiment("persist")
    again.add_scalar_value("loss", 0.5, wall_time=2.0)
    assert [p[1:] for p in again.get_scalar_values("loss")] == [
        [0, 3.0],
        [1, 2.0],
        [2, 1.0],
        [3, 0.5],
    ]
