"""What `--fsync` costs per point: the bridge with and without it, side by side in one run.

    python bench/fsync_cost.py [--rounds 3] [--singles 300] [--batches 60] [--batch-size 1000]
                               [--logdir-root DIR]

Each round starts two bridges, one per mode, each on a fresh logdir under --logdir-root (default:
the system temp dir; the figures are the file system's, so the table names it), and sends them
requests alternately, one at a time over one keep-alive connection each, so that noise on a shared
machine hits both modes alike: single-point POSTs, then POSTs of a batch of --batch-size points.
Reported: median (and p90) latency per request over all rounds, and points/s (one connection,
sequential). Each server is started and stopped by its own PID; all temporary files are removed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

START_TIMEOUT = 60.0
MODES = {"no fsync": (), "--fsync": ("--fsync",)}
XP, METRIC = "fsync cost", "loss"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Bridge:
    """A `python -m crayon_bridge` process on a free port, stopped by its PID."""

    def __init__(self, logdir: Path, options: tuple[str, ...]) -> None:
        self.port = free_port()
        self.log_path = logdir.parent / f"bridge-{self.port}.log"
        command = [
            sys.executable,
            "-m",
            "crayon_bridge",
            "--logdir",
            str(logdir),
            "--port",
            str(self.port),
            "--no-tensorboard",
            "--log-level",
            "WARNING",
            *options,
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"bridge exited: {self.log_path.read_text(errors='replace')}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/")
                if connection.getresponse().status == 200:
                    connection.close()
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("bridge did not answer in time")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)


class Client:
    """One keep-alive connection; `post` returns the seconds a 200 answer took."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def post(self, path: str, body: bytes) -> float:
        started = time.perf_counter()
        self.connection.request("POST", path, body, {"Content-Type": "application/json"})
        response = self.connection.getresponse()
        answer = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"POST {path} answered {response.status}: {answer[:200]!r}")
        return elapsed

    def close(self) -> None:
        self.connection.close()


class Session:
    """One bridge's experiment and connection, sending points with fresh steps."""

    def __init__(self, port: int) -> None:
        self.client = Client(port)
        self.client.post("/data", json.dumps(XP).encode())
        self.path = f"/data/scalars?xp={XP.replace(' ', '%20')}&name={METRIC}"
        self.step = 0

    def post(self, size: int) -> float:
        points = [[1.7e9 + s, s, s * 0.5] for s in range(self.step, self.step + size)]
        self.step += size
        return self.client.post(self.path, json.dumps(points[0] if size == 1 else points).encode())


def measure(
    ports: dict[str, int], singles: int, batches: int, batch_size: int
) -> dict[str, dict[str, list[float]]]:
    """Latencies (s) of single-point and batch POSTs per mode, alternating between the bridges."""
    sessions = {mode: Session(port) for mode, port in ports.items()}
    result = {mode: {"single": [], "batch": []} for mode in ports}
    try:
        for _ in range(20):  # warm-up: connection, first file, caches
            for session in sessions.values():
                session.post(1)
        for kind, count, size in (("single", singles, 1), ("batch", batches, batch_size)):
            for number in range(count):
                order = list(sessions) if number % 2 == 0 else list(reversed(sessions))
                for mode in order:
                    result[mode][kind].append(sessions[mode].post(size))
        return result
    finally:
        for session in sessions.values():
            session.client.close()


def file_system(path: Path) -> str:
    try:
        out = subprocess.run(
            ["df", "-T", str(path)], capture_output=True, text=True, check=True, timeout=10
        ).stdout.splitlines()[-1]
        return f"{out.split()[1]} ({out.split()[0]})"
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--singles", type=int, default=300, help="single-point POSTs per round")
    parser.add_argument("--batches", type=int, default=60, help="batch POSTs per round")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--logdir-root", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="fsync-cost-", dir=args.logdir_root))
    samples = {mode: {"single": [], "batch": []} for mode in MODES}
    try:
        for number in range(args.rounds):
            bridges: dict[str, Bridge] = {}
            try:
                for mode, options in MODES.items():
                    logdir = root / f"round{number}-{mode.strip('-').replace(' ', '-')}"
                    bridges[mode] = Bridge(logdir, options)
                ports = {mode: bridge.port for mode, bridge in bridges.items()}
                result = measure(ports, args.singles, args.batches, args.batch_size)
            finally:
                for bridge in bridges.values():
                    bridge.stop()
            for mode, kinds in result.items():
                for kind, values in kinds.items():
                    samples[mode][kind] += values
                print(
                    f"round {number + 1} {mode:>8}: single median "
                    f"{statistics.median(kinds['single']) * 1e3:.3f} ms, batch median "
                    f"{statistics.median(kinds['batch']) * 1e3:.2f} ms",
                    file=sys.stderr,
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print(
        f"fsync cost: {args.rounds} rounds x ({args.singles} single-point POSTs + {args.batches} "
        f"POSTs of {args.batch_size} points) per mode, alternating, one connection each; "
        f"logdir on {file_system(args.logdir_root)}"
    )
    header = (
        f"{'mode':<10}{'single median':>15}{'single p90':>12}{'single pts/s':>14}"
        f"{'batch median':>14}{'batch p90':>12}{'batch pts/s':>13}"
    )
    print(header)
    print("-" * len(header))
    medians = {}
    for mode, kinds in samples.items():
        single, batch = statistics.median(kinds["single"]), statistics.median(kinds["batch"])
        medians[mode] = (single, batch)
        print(
            f"{mode:<10}{single * 1e3:>12.3f} ms{percentile(kinds['single'], 0.9) * 1e3:>9.3f} ms"
            f"{1 / single:>14,.0f}{batch * 1e3:>11.2f} ms"
            f"{percentile(kinds['batch'], 0.9) * 1e3:>9.2f} ms{args.batch_size / batch:>13,.0f}"
        )
    (plain_single, plain_batch), (sync_single, sync_batch) = medians.values()
    print(
        f"fsync adds {(sync_single - plain_single) * 1e3:.3f} ms per single-point POST "
        f"(x{sync_single / plain_single:.1f}) and {(sync_batch - plain_batch) * 1e3:.2f} ms per "
        f"{args.batch_size}-point batch (x{sync_batch / plain_batch:.2f}, "
        f"{(sync_batch - plain_batch) / args.batch_size * 1e6:.2f} us per point)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
