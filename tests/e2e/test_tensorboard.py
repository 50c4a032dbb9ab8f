"""What TensorBoard shows equals what the bridge answers: its loader, and the real server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from bridge_support import free_port

pytestmark = pytest.mark.e2e

TB_START_TIMEOUT = 90.0


async def log_session(client) -> None:
    await client.post("/data", json="run one")
    rng = np.random.default_rng(0)
    batch = {
        "loss": [[1000.0 + i, i, float(v)] for i, v in enumerate(rng.normal(size=300))],
        "acc/top 1": [[1000.0 + i, i, i / 300] for i in range(300)],
    }
    assert (await client.post("/data/scalars", params={"xp": "run one"}, json=batch)).status == 200
    for step in range(5):
        values = rng.normal(size=1000).tolist()
        params = {"xp": "run one", "name": "weights", "tobuild": "true"}
        response = await client.post("/data/histograms", params=params, json=[1.0, step, values])
        assert response.status == 200


async def bridge_answer(client, kind: str, name: str) -> list:
    response = await client.get(f"/data/{kind}", params={"xp": "run one", "name": name})
    assert response.status == 200
    return await response.json()


async def test_event_accumulator_reads_every_point_the_bridge_returns(client, logdir):
    await log_session(client)
    accumulator = EventAccumulator(
        str(logdir / "run one"), size_guidance={"scalars": 0, "histograms": 0}
    )
    accumulator.Reload()
    assert sorted(accumulator.Tags()["scalars"]) == ["acc/top 1", "loss"]
    for tag in ("loss", "acc/top 1"):
        seen = [[e.wall_time, e.step, e.value] for e in accumulator.Scalars(tag)]
        assert seen == await bridge_answer(client, "scalars", tag)
    histograms = accumulator.Histograms("weights")
    answer = await bridge_answer(client, "histograms", "weights")
    assert len(histograms) == len(answer) == 5
    for event, (wall_time, step, row) in zip(histograms, answer, strict=True):
        h = event.histogram_value
        assert [event.wall_time, event.step] == [wall_time, step]
        assert [h.min, h.max, h.num, h.sum, h.sum_squares] == row[:5]
        assert [list(h.bucket_limit), list(h.bucket)] == row[5:]


def fetch_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def wait_for_tensorboard_points(base: str, run: str, tag: str, count: int, process) -> list:
    query = urllib.parse.urlencode({"run": run, "tag": tag})
    url = f"{base}/data/plugin/scalars/scalars?{query}"
    deadline = time.monotonic() + TB_START_TIMEOUT
    last = None
    while time.monotonic() < deadline:
        assert process.poll() is None, "TensorBoard exited"
        try:
            last = fetch_json(url)
            if len(last) >= count:
                return last
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"TensorBoard showed {last!r} after {TB_START_TIMEOUT}s")


@pytest.mark.parametrize("load_fast", ["true", "false"])
async def test_stock_tensorboard_shows_every_point(client, logdir, load_fast):
    await log_session(client)
    port = free_port()
    command = [
        sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--port", str(port),
        "--host", "127.0.0.1", f"--load_fast={load_fast}", "--reload_interval", "1",
        "--samples_per_plugin", "scalars=100000",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for tag in ("loss", "acc/top 1"):
            answer = await bridge_answer(client, "scalars", tag)
            shown = wait_for_tensorboard_points(base, "run one", tag, len(answer), process)
            assert [[p[0], p[1], p[2]] for p in shown] == answer
        query = urllib.parse.urlencode({"run": "run one", "tag": "weights"})
        histograms = fetch_json(f"{base}/data/plugin/histograms/histograms?{query}")
        assert [h[1] for h in histograms] == [0, 1, 2, 3, 4]
        assert "run one" in fetch_json(f"{base}/data/runs")
    finally:
        process.terminate()
        process.wait(timeout=30)
