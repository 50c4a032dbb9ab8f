"""Everything survives a restart: the bridge's runs and runs other writers left behind."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.util import tensor_util

pytestmark = pytest.mark.e2e


def call(server, method: str, path: str, body=None, **params):
    url = f"{server.url}{path}?{urllib.parse.urlencode(params)}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
    return json.loads(text) if response.headers.get_content_type() == "application/json" else text


def snapshot(server) -> dict:
    result = {}
    for name in call(server, "GET", "/data"):
        info = call(server, "GET", "/data", xp=name)
        for kind in ("scalars", "histograms"):
            for metric in info[kind]:
                result[name, kind, metric] = call(
                    server, "GET", f"/data/{kind}", xp=name, name=metric
                )
    return result


def write_foreign_run(directory: Path) -> None:
    """A run as TensorFlow 2 / tensorboardX write it: tensor summaries with plugin metadata."""
    directory.mkdir()
    writer = EventFileWriter(str(directory))
    for step in range(3):
        event = event_pb2.Event(wall_time=50.0 + step, step=step)
        scalar = event.summary.value.add(tag="tf/loss")
        scalar.tensor.CopyFrom(tensor_util.make_tensor_proto(np.float32(1.0 / (step + 1))))
        histogram = event.summary.value.add(tag="tf/w")
        buckets = np.array([[0.0, 1.0, float(step)], [1.0, 2.0, 2.0]])
        histogram.tensor.CopyFrom(tensor_util.make_tensor_proto(buckets))
        if step == 0:  # TensorFlow writes the plugin metadata with a tag's first value only
            scalar.metadata.plugin_data.plugin_name = "scalars"
            histogram.metadata.plugin_data.plugin_name = "histograms"
        legacy = event.summary.value.add(tag="legacy", simple_value=float(step))
        assert isinstance(legacy, summary_pb2.Summary.Value)
        writer.add_event(event)
    writer.close()


def test_restart_lists_and_reads_back_everything(live_server, logdir):
    write_foreign_run(logdir / "foreign")
    live_server.restart()  # pick up the foreign run
    call(live_server, "POST", "/data", "mine")
    points = [[10.0 + i, i, i * 0.25] for i in range(50)]
    call(live_server, "POST", "/data/scalars", points, xp="mine", name="loss")
    call(live_server, "POST", "/data/histograms", [1.0, 0, [1.0, 2.0]], xp="mine", name="w")
    before = snapshot(live_server)
    assert before["foreign", "scalars", "tf/loss"] == [
        [50.0, 0, 1.0],
        [51.0, 1, 0.5],
        [52.0, 2, float(np.float32(1 / 3))],
    ]
    assert before["foreign", "scalars", "legacy"] == [
        [50.0, 0, 0.0],
        [51.0, 1, 1.0],
        [52.0, 2, 2.0],
    ]
    assert before["foreign", "histograms", "tf/w"][2] == [
        52.0,
        2,
        [0.0, 2.0, 4.0, 0.0, 0.0, [1.0, 2.0], [2.0, 2.0]],
    ]
    assert before["mine", "scalars", "loss"] == points

    live_server.restart()
    assert snapshot(live_server) == before

    # New points go to a new file that sorts after the old one, and read back in order.
    call(live_server, "POST", "/data/scalars", [99.0, 50, 1.0], xp="mine", name="loss")
    files = sorted(p.name for p in (logdir / "mine").iterdir())
    assert len(files) == 2
    loss = call(live_server, "GET", "/data/scalars", xp="mine", name="loss")
    assert loss == [*points, [99.0, 50, 1.0]]
    # And the foreign run stays untouched until someone writes to it.
    assert len(list((logdir / "foreign").iterdir())) == 1
