"""`SummaryWriter` against a real bridge process: batching, threads, outages, closing."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
from client_support import AnswerDroppingProxy, BridgeView, wait_until

from crayon_bridge.client import CrayonError, DeliveryWarning, SummaryWriter
from crayon_bridge.client._values import build_histogram
from crayon_bridge.histogram import build_histogram as server_build_histogram


@pytest.fixture
def bridge(live_server) -> Iterator[BridgeView]:
    """A plain HTTP view of the live bridge, to check what it stored."""
    with BridgeView(live_server.url) as view:
        yield view


@pytest.fixture
def answer_dropping_proxy(live_server) -> Iterator[AnswerDroppingProxy]:
    """A proxy to the live bridge that can lose the bridge's answers."""
    with AnswerDroppingProxy(live_server.port) as proxy:
        yield proxy


def _steps(rows):
    return [row[1] for row in rows]


def _f32(value: float) -> float:
    return float(np.float32(value))


class FakeTensor:
    """Quacks like a torch tensor that requires grad and lives on a GPU."""

    def __init__(self, values):
        self._values = np.asarray(values, dtype=np.float32)
        self.calls = []

    def detach(self):
        self.calls.append("detach")
        return self

    def cpu(self):
        self.calls.append("cpu")
        return self

    def numpy(self):
        self.calls.append("numpy")
        return self._values


# Unit tests: no server


@pytest.mark.parametrize(
    "values",
    [
        [1.0],
        [0.0, -0.0, 0.0],
        [-0.0, -0.0],
        [1e-13, -1e-13, 1e-12, 1.1e-12, 5.0, -5.0],
        [1e308, -1e308, 1.7976931348623157e308],
        list(np.random.default_rng(0).normal(size=10_000)),
        list(np.random.default_rng(1).integers(-3, 3, size=5000).astype(float)),
    ],
    ids=["one", "zeros", "negative-zeros", "near-limits", "huge", "normal", "integers"],
)
def test_client_histogram_is_bit_identical_to_the_bridges(values):
    flat = np.array(values, dtype=np.float64)
    ours = build_histogram(flat)
    theirs = server_build_histogram(flat)
    assert ours == {
        "min": theirs.min,
        "max": theirs.max,
        "num": theirs.num,
        "sum": theirs.sum,
        "sum_squares": theirs.sum_squares,
        "bucket_limit": list(theirs.bucket_limit),
        "bucket": list(theirs.bucket),
    }
    assert str(ours["min"]) == str(theirs.min)  # the sign of a zero too


def test_client_imports_nothing_heavy():
    code = (
        "import sys, crayon_bridge.client, crayon_bridge.tools\n"
        "heavy = {'aiohttp', 'tensorboard', 'orjson', 'numpy', 'tqdm', 'requests', 'google'}\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & heavy)\n"
        "server = sorted(m for m in sys.modules if m.startswith('crayon_bridge.')\n"
        "    and not m.startswith(('crayon_bridge.client', 'crayon_bridge.tools')))\n"
        "print(loaded, server)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[] []"


def test_constructor_fails_clearly_without_a_bridge():
    with pytest.raises(CrayonError, match="cannot connect"):
        SummaryWriter("http://127.0.0.1:1", "xp", connect_timeout=1)


# End to end


@pytest.mark.e2e
def test_scalars_histograms_and_add_scalars_arrive(live_server, bridge):
    values = np.random.default_rng(2).normal(size=1000)
    tensor = FakeTensor([1.0, 2.0, 2.5])
    with SummaryWriter(live_server.url, "basic") as writer:
        writer.add_scalar("loss", 0.5)
        writer.add_scalar("loss", np.float32(0.25))
        writer.add_scalar("loss", 0.1, global_step=10, walltime=1234.5)
        writer.add_scalar("loss", float("nan"))
        writer.add_scalars("acc", {"train": 0.75, "val": 0.5}, global_step=3)
        writer.add_histogram("weights", values)
        writer.add_histogram("weights", [[1.0, 2.0], [3.0, 4.0]], global_step=5)
        writer.add_histogram("tensor", tensor)
    assert writer.dropped == 0
    assert writer.delivered == 9
    loss = bridge.scalars("basic", "loss")
    assert _steps(loss) == [0, 1, 10, 11]
    assert [row[2] for row in loss[:3]] == [0.5, 0.25, _f32(0.1)]
    assert loss[2][0] == 1234.5
    assert np.isnan(loss[3][2])
    assert bridge.scalars("basic", "acc/train") == [[pytest.approx(time.time(), abs=60), 3, 0.75]]
    assert bridge.info("basic")["scalars"] == ["acc/train", "acc/val", "loss"]
    weights = bridge.histograms("basic", "weights")
    assert _steps(weights) == [0, 5]
    assert weights[1][2][:5] == [1.0, 4.0, 4.0, 10.0, 30.0]
    assert tensor.calls == ["detach", "cpu", "numpy"]
    # Built on the client side, the histogram equals what the bridge builds from the values.
    with SummaryWriter(live_server.url, "basic") as writer:
        pass
    bridge.session.send_json(
        "POST",
        "/data/histograms",
        {"xp": "basic", "name": "server-built", "tobuild": "true"},
        [1.0, 0, values.tolist()],
    )
    assert bridge.histograms("basic", "server-built")[0][2] == weights[0][2]


@pytest.mark.e2e
def test_bad_values_raise_in_the_callers_thread(live_server):
    with SummaryWriter(live_server.url, "bad") as writer:
        with pytest.raises(ValueError, match="step"):
            writer.add_scalar("x", 1.0, global_step=-1)
        with pytest.raises(ValueError, match=r"could not convert|must be"):
            writer.add_scalar("x", "abc")
        with pytest.raises(ValueError, match="finite"):
            writer.add_histogram("h", [1.0, float("inf")])
        with pytest.raises(ValueError, match="empty"):
            writer.add_histogram("h", [])
        with pytest.raises(TypeError, match="tag"):
            writer.add_scalar(3, 1.0)
        with pytest.raises(ValueError, match=r"surrogate|Unicode"):
            writer.add_scalar("\udc80", 1.0)
    with pytest.raises(ValueError, match="closed"):
        writer.add_scalar("x", 1.0)


@pytest.mark.e2e
def test_appending_continues_each_tags_steps(live_server, bridge):
    with SummaryWriter(live_server.url, "resume") as writer:
        for value in range(3):
            writer.add_scalar("a", value)
        writer.add_scalar("b", 1.0, global_step=41)
        writer.add_histogram("h", [1.0], global_step=7)
    with SummaryWriter(live_server.url, "resume") as writer:
        writer.add_scalar("a", 3.0)
        writer.add_scalar("b", 2.0)
        writer.add_scalar("new", 2.0)
        writer.add_histogram("h", [2.0])
    assert _steps(bridge.scalars("resume", "a")) == [0, 1, 2, 3]
    assert _steps(bridge.scalars("resume", "b")) == [41, 42]
    assert _steps(bridge.scalars("resume", "new")) == [0]
    assert _steps(bridge.histograms("resume", "h")) == [7, 8]


@pytest.mark.e2e
def test_many_threads_points_arrive_once_and_in_order(live_server, bridge):
    threads, per_thread = 4, 5000
    writer = SummaryWriter(live_server.url, "threads", max_batch=1000)
    start = threading.Barrier(threads)

    def log(index: int) -> None:
        start.wait()
        for step in range(per_thread):
            writer.add_scalar(f"thread{index}", step * 0.5, global_step=step)
            writer.add_scalar("shared", index)  # auto steps from every thread
            if step % 1000 == 0:
                writer.add_histogram(f"h{index}", [step, index])

    workers = [threading.Thread(target=log, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    writer.close()
    assert writer.dropped == 0
    assert writer.delivered == threads * (2 * per_thread + 5)
    for index in range(threads):
        rows = bridge.scalars("threads", f"thread{index}")
        assert _steps(rows) == list(range(per_thread))
        assert [row[2] for row in rows] == [step * 0.5 for step in range(per_thread)]
        assert _steps(bridge.histograms("threads", f"h{index}")) == list(range(5))
    shared = bridge.scalars("threads", "shared")
    assert _steps(shared) == list(range(threads * per_thread))
    assert sorted(row[2] for row in shared) == sorted(
        float(index) for index in range(threads) for _ in range(per_thread)
    )


@pytest.mark.e2e
@pytest.mark.parametrize("outage", ["stop", "kill"])
def test_points_logged_while_the_bridge_is_down_arrive_once_it_is_back(
    outage, live_server, bridge, caplog
):
    caplog.set_level(logging.WARNING, logger="crayon_bridge.client")
    writer = SummaryWriter(live_server.url, "outage", max_backoff=0.2)
    step = 0

    def log(count: int) -> None:
        nonlocal step
        for _ in range(count):
            writer.add_scalar("loss", step, global_step=step)
            writer.add_scalar("other", -step, global_step=step)
            step += 1

    log(2000)
    wait_until(lambda: writer.delivered > 0)
    log(2000)  # some of these may be in flight when the bridge goes
    getattr(live_server, outage)()
    log(3000)
    wait_until(lambda: "retrying" in caplog.text)
    log(3000)
    live_server.start()
    log(2000)
    assert writer.flush(timeout=30)
    writer.close()
    assert writer.dropped == 0
    for tag, sign in (("loss", 1), ("other", -1)):
        rows = bridge.scalars("outage", tag)
        assert _steps(rows) == list(range(step))
        assert [row[2] for row in rows] == [sign * float(index) for index in range(step)]


@pytest.mark.e2e
def test_close_gives_up_in_bounded_time_and_reports_dropped_points(live_server):
    writer = SummaryWriter(live_server.url, "gone", max_backoff=0.2)
    writer.add_scalar("x", 1.0)
    assert writer.flush(timeout=10)
    live_server.stop()
    for step in range(1, 101):
        writer.add_scalar("x", float(step))
    writer.add_histogram("h", [1.0, 2.0])
    started = time.monotonic()
    with pytest.warns(DeliveryWarning, match="could not deliver 101 points"):
        writer.close(timeout=1.0)
    assert time.monotonic() - started < 5.0
    assert writer.dropped == 101
    assert writer.delivered == 1


@pytest.mark.e2e
def test_a_batch_stored_without_an_answer_is_not_sent_again(answer_dropping_proxy, bridge):
    proxy = answer_dropping_proxy
    writer = SummaryWriter(proxy.url, "lost answers", max_backoff=0.1)
    for step in range(3):
        proxy.drop_answers = 1
        writer.add_scalar("x", step, global_step=step)
        writer.add_scalar("y", -step, global_step=step)
        assert writer.flush(timeout=20)
        proxy.drop_answers = 1
        writer.add_histogram("h", [step], global_step=step)
        assert writer.flush(timeout=20)
    writer.close()
    assert proxy.dropped == 6
    assert writer.dropped == 0
    assert _steps(bridge.scalars("lost answers", "x")) == [0, 1, 2]
    assert _steps(bridge.scalars("lost answers", "y")) == [0, 1, 2]
    assert _steps(bridge.histograms("lost answers", "h")) == [0, 1, 2]


@pytest.mark.e2e
def test_a_full_queue_drops_new_points_counts_and_warns(live_server, bridge):
    writer = SummaryWriter(live_server.url, "full", capacity=50, block_timeout=0)
    live_server.stop()
    with pytest.warns(DeliveryWarning, match="queue .* is full"):
        for step in range(200):
            writer.add_scalar("x", step, global_step=step)
    assert writer.dropped >= 100  # the sender holds at most one batch of 50 besides the queue
    live_server.start()
    with pytest.warns(DeliveryWarning, match=f"could not deliver {writer.dropped} points"):
        writer.close()  # the kept points are delivered; the warning counts the dropped ones
    kept = _steps(bridge.scalars("full", "x"))
    assert kept == list(range(len(kept)))
    assert len(kept) + writer.dropped == 200


@pytest.mark.e2e
def test_a_refused_tag_does_not_lose_the_other_tags(live_server, bridge, caplog):
    writer = SummaryWriter(live_server.url, "refused")
    writer.flush()  # make sure the points below share one batch
    writer.add_scalar("good", 1.0, global_step=0)
    writer.add_scalar("t" * 2000, 2.0, global_step=0)  # longer than the bridge accepts
    writer.add_scalar("good", 3.0, global_step=1)
    with pytest.warns(DeliveryWarning, match="could not deliver 1 points"):
        writer.close()
    assert writer.dropped == 1
    assert bridge.scalars("refused", "good")[-1][1:] == [1, 3.0]
    assert "refused 1 points" in caplog.text


@pytest.mark.e2e
def test_token_from_argument_or_url(server_factory):
    server = server_factory("--token", "s3cret")
    host = server.url.removeprefix("http://")
    with SummaryWriter(server.url, "a", token="s3cret") as writer:
        writer.add_scalar("x", 1.0)
    with SummaryWriter(f"http://me:s3cret@{host}", "b") as writer:
        writer.add_scalar("x", 1.0)
    assert writer.dropped == 0
    with pytest.raises(CrayonError, match="token") as info:
        SummaryWriter(server.url, "c", token="wrong")
    assert info.value.status == 401
