"""Client benchmark: what `SummaryWriter.add_scalar` costs the training loop, and delivery rates.

Measures, against a real bridge (`--url`, or one started here on a temporary logdir):
1. the time of one `add_scalar` call in the caller's thread, median and 99th percentile over
   `--calls` calls while the bridge ingests them (the writer's sender thread runs meanwhile);
2. end-to-end delivery rates in points per second, from the first call until the bridge has
   confirmed every point: `SummaryWriter`, stock pycrayon 0.5's `add_scalar_value` (one request
   per point), and this package's pycrayon-compatible `CrayonClient` (keep-alive connection),
   measured in the same run, interleaved, `--repeat` times (medians are reported).

    python bench/client_bench.py                    # starts its own bridge
    python bench/client_bench.py --url http://127.0.0.1:8889
    python bench/client_bench.py --smoke            # tiny sizes, for a test

The machine is shared and noisy: compare figures from one run, not absolute times across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crayon_bridge.client import CrayonClient, CrayonError, SummaryWriter
from crayon_bridge.client._http import HttpSession

FULL = {"calls": 100_000, "writer_points": 200_000, "pycrayon_points": 2_000, "repeat": 3}
SMOKE = {"calls": 2_000, "writer_points": 5_000, "pycrayon_points": 50, "repeat": 1}
START_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def started_bridge() -> Iterator[str]:
    """Run `python -m crayon_bridge` on a temporary logdir and a free port; yield its URL."""
    with tempfile.TemporaryDirectory(prefix="client-bench-") as logdir:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(Path(logdir) / "bridge.log", "wb")  # noqa: SIM115 - the child's output
        command = [sys.executable, "-m", "crayon_bridge", "--logdir", str(Path(logdir) / "runs")]
        process = subprocess.Popen(
            [*command, "--port", str(port), "--no-tensorboard", "--log-level", "WARNING"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for(url, process)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.close()


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    session = HttpSession(url, timeout=2, connect_timeout=1)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the bridge exited with status {process.returncode}")
        try:
            session.request("GET", "/")
            session.close()
            return
        except CrayonError:
            time.sleep(0.05)
    raise SystemExit(f"the bridge did not answer within {START_TIMEOUT} s")


def call_cost(url: str, experiment: str, calls: int) -> tuple[float, float]:
    """Median and p99 of one `add_scalar` call, in microseconds, while the bridge ingests."""
    clock = time.perf_counter_ns
    durations = [0] * calls
    writer = SummaryWriter(url, experiment, capacity=max(100_000, calls), max_backoff=0.5)
    for step in range(calls):
        started = clock()
        writer.add_scalar("loss", 0.5, step)
        durations[step] = clock() - started
    writer.close()
    _check_delivered(writer, calls)
    durations.sort()
    median = durations[calls // 2] / 1000
    p99 = durations[min(calls - 1, int(calls * 0.99))] / 1000
    return median, p99


def writer_rate(url: str, experiment: str, points: int) -> float:
    """Points per second through `SummaryWriter`, from the first call to the last confirmation."""
    writer = SummaryWriter(url, experiment, capacity=points + 1, block_timeout=None)
    started = time.perf_counter()
    for step in range(points):
        writer.add_scalar("loss", step * 0.001, step)
    writer.close()
    elapsed = time.perf_counter() - started
    _check_delivered(writer, points)
    return points / elapsed


def _check_delivered(writer: SummaryWriter, points: int) -> None:
    if writer.delivered != points or writer.dropped:
        raise SystemExit(f"delivered {writer.delivered} of {points}, dropped {writer.dropped}")


def crayon_rate(client_class: type, url: str, experiment: str, points: int) -> float:
    """Points per second through a pycrayon-style client's `add_scalar_value` (one request each)."""
    host, port = url.rsplit(":", 1)
    client = client_class(hostname=host, port=int(port))
    xp = client.create_experiment(experiment)
    started = time.perf_counter()
    for _ in range(points):
        xp.add_scalar_value("loss", 0.5)
    elapsed = time.perf_counter() - started
    if len(xp.get_scalar_values("loss")) != points:
        raise SystemExit(f"{client_class.__module__} did not store {points} points")
    return points / elapsed


def run(url: str, sizes: dict[str, int]) -> list[tuple[str, str]]:
    """Run every measurement against `url`; return the table's rows."""
    import pycrayon

    tag = f"{os.getpid()}-{int(time.time())}"
    created: list[str] = []

    def name(kind: str) -> str:
        created.append(f"bench-{kind}-{tag}-{len(created)}")
        return created[-1]

    rates: dict[str, list[float]] = {"writer": [], "stock": [], "ours": []}
    measures: dict[str, Callable[[], float]] = {
        "writer": lambda: writer_rate(url, name("writer"), sizes["writer_points"]),
        "stock": lambda: crayon_rate(
            pycrayon.CrayonClient, url, name("pycrayon"), sizes["pycrayon_points"]
        ),
        "ours": lambda: crayon_rate(CrayonClient, url, name("compat"), sizes["pycrayon_points"]),
    }
    try:
        median, p99 = call_cost(url, name("calls"), sizes["calls"])
        for _ in range(sizes["repeat"]):
            for key, measure in measures.items():
                rates[key].append(measure())
    finally:
        _remove(url, created)
    writer, stock, ours = (statistics.median(rates[key]) for key in ("writer", "stock", "ours"))
    calls = f"{sizes['calls']:,} calls"
    return [
        (f"SummaryWriter.add_scalar, caller's thread, median ({calls})", f"{median:.2f} us"),
        (f"SummaryWriter.add_scalar, caller's thread, p99 ({calls})", f"{p99:.2f} us"),
        (
            f"SummaryWriter delivery, {sizes['writer_points']:,} points",
            f"{writer:,.0f} points/s",
        ),
        (
            f"stock pycrayon 0.5 add_scalar_value, {sizes['pycrayon_points']:,} points",
            f"{stock:,.0f} points/s",
        ),
        (
            f"crayon_bridge CrayonClient add_scalar_value, {sizes['pycrayon_points']:,} points",
            f"{ours:,.0f} points/s",
        ),
        ("SummaryWriter / stock pycrayon", f"{writer / stock:,.0f}x"),
    ]


def _remove(url: str, experiments: list[str]) -> None:
    session = HttpSession(url)
    for experiment in experiments:
        with contextlib.suppress(CrayonError):
            session.request("DELETE", "/data", {"xp": experiment})
    session.close()


def print_table(rows: list[tuple[str, str]], repeat: int) -> None:
    """Print the results as a Markdown table (ready for the README)."""
    width = max(len(label) for label, _ in rows)
    value_width = max(len(value) for _, value in rows)
    print(f"| {'measure':<{width}} | {'result':>{value_width}} |")
    print(f"| {'-' * width} | {'-' * (value_width - 1)}: |")
    for label, value in rows:
        print(f"| {label:<{width}} | {value:>{value_width}} |")
    print(f"(rates: median of {repeat} interleaved runs; python {sys.version.split()[0]})")


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", help="a running bridge (default: start one on a temp logdir)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check it runs")
    parser.add_argument("--calls", type=int, help="add_scalar calls timed one by one")
    parser.add_argument("--repeat", type=int, help="runs of each rate measurement")
    args = parser.parse_args(argv)
    sizes = dict(SMOKE if args.smoke else FULL)
    if args.calls:
        sizes["calls"] = args.calls
    if args.repeat:
        sizes["repeat"] = args.repeat
    with contextlib.ExitStack() as stack:
        url = args.url or stack.enter_context(started_bridge())
        rows = run(url, sizes)
    print_table(rows, sizes["repeat"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
