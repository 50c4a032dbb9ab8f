"""Benchmark the bridge against a bare aiohttp ceiling on loopback and print one table (issue 4).

    python bench/run.py [--smoke] [--rounds N] [--duration S] [--out FILE]

Both servers run as real processes pinned to one core, the load generator (wrk, or an aiohttp
fallback in --smoke mode when wrk is missing) on the other. Rows alternate bridge/ceiling runs and
report medians over rounds. Progress goes to stderr, the table to stdout (and --out).
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import itertools
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from statistics import median
from urllib.parse import quote

import aiohttp
from ceiling_server import parse_json
from loadgen import (
    BodySpec,
    LoadGenerator,
    LoadResult,
    RequestFailed,
    make_body,
    post_all,
    run_python,
    run_wrk,
    wrk_version,
)
from pyspy import py_spy, py_spy_path, summarize
from servers import Server, ServerError, pin_prefix

BENCH_DIR = Path(__file__).resolve().parent
BRIDGE_CMD = "{python} -m crayon_bridge --logdir {logdir} --port {port} --no-tensorboard"
CEILING_CMD = "{python} " + shlex.quote(str(BENCH_DIR / "ceiling_server.py")) + " --port {port}"
MIB = 1024 * 1024
ROW_ERRORS = (
    ServerError,
    RequestFailed,
    RuntimeError,
    OSError,
    ValueError,
    subprocess.SubprocessError,
    aiohttp.ClientError,
)


@dataclass(frozen=True)
class Sizes:
    """How big and how long each part of the benchmark is."""

    rounds: int
    duration: float
    warmup: float
    series_points: int
    reads: int
    mem_xps: int
    mem_metrics: int
    mem_points: int
    connections: tuple[int, ...] = (1, 8, 64)
    heavy_connections: int = 8
    batch_points: int = 1000
    multi_metrics: int = 100
    multi_points: int = 10
    hist_values: int = 10_000


FULL = Sizes(3, 5.0, 1.0, 1_000_000, 3, 100, 10, 10_000)
SMOKE = Sizes(1, 1.0, 0.0, 1_000, 1, 2, 2, 100)


@dataclass
class Sample:
    """One load run against one server, with the server's CPU time over it."""

    rate: float
    p50_ms: float
    p99_ms: float
    cpu_us: float
    server_busy: float
    loadgen_busy: float


@dataclass
class Row:
    """One line of the table; the ratios are bridge speed / ceiling speed.

    `ratio` compares throughput (or time); `cpu_ratio` compares server CPU time per request,
    which a shared machine disturbs less.
    """

    name: str
    size: str
    unit: str
    bridge: float | None = None
    ceiling: float | None = None
    ratio: float | None = None
    cpu_ratio: float | None = None
    bridge_latency: tuple[float, float] | None = None
    ceiling_latency: tuple[float, float] | None = None
    bridge_cpu_us: float | None = None
    ceiling_cpu_us: float | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def log(message: str) -> None:
    """Print progress to stderr."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def timed_get(url: str) -> tuple[float, bytes]:
    """GET a loopback URL on a new connection; return (seconds to the last byte, body)."""
    rest = url.removeprefix("http://127.0.0.1:")
    port, _, path = rest.partition("/")
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=300)
    try:
        began = time.perf_counter()
        conn.request("GET", "/" + path)
        resp = conn.getresponse()
        body = resp.read()
        seconds = time.perf_counter() - began
    finally:
        conn.close()
    if resp.status != 200:
        raise RequestFailed("GET", "/" + path, b"", resp.status, body)
    return seconds, body


def check_series(path: str, body: bytes, count: int, last_step: int) -> None:
    """Raise unless a GET answer holds `count` points and ends at `last_step`."""
    points = parse_json(body)
    if not isinstance(points, list) or len(points) != count or points[-1][1] != last_step:
        got = len(points) if isinstance(points, list) else type(points).__name__
        tail = points[-1] if isinstance(points, list) and points else None
        raise ServerError(
            f"GET {path} answered {got} points ending {tail}, "
            f"expected {count} ending at step {last_step}"
        )


def post_json(server: Server, path: str, value: object) -> None:
    """POST one JSON body; raise with the exact request and answer unless it is a 200."""
    post_all(server.url, [(path, json.dumps(value).encode())], concurrency=1)


def series_path(xp: str, name: str) -> str:
    """The scalars path of one metric."""
    return f"/data/scalars?xp={quote(xp)}&name={quote(name)}"


class Bench:
    """Runs every row against the servers it starts, and collects rows and notes."""

    def __init__(self, args: argparse.Namespace, sizes: Sizes, loadgen: LoadGenerator) -> None:
        self.args = args
        self.sizes = sizes
        self.loadgen = loadgen
        self.root = Path(tempfile.mkdtemp(prefix="crayon-bench-"))
        self.servers: list[Server] = []
        self.next_request: dict[tuple[str, str], int] = {}
        self.notes: list[str] = []
        self.profiles: list[str] = []

    def server(self, name: str, command: str) -> Server:
        """Create (not start) a server with its own logdir; it is stopped in close()."""
        server = Server(name, command, self.root / f"{name}-logdir", self.args.server_cpu)
        self.servers.append(server)
        return server

    def close(self) -> None:
        """Stop every server this run started and remove the data unless --keep-data."""
        for server in self.servers:
            server.stop()
        if self.args.keep_data:
            log(f"data and server logs kept in {self.root}")
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    # ---- POST rows: one function runs a load against a target, reused for every row ----

    @contextmanager
    def profiled(self, server: Server, label: str | None) -> Iterator[None]:
        """With --profile, sample a bridge with py-spy while the block runs."""
        if self.args.profile is None or label is None or not server.name.startswith("bridge"):
            yield
            return
        self.args.profile.mkdir(parents=True, exist_ok=True)
        out = self.args.profile / (re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") + ".txt")
        with py_spy(server.pid, out):
            yield
        self.profiles.append(summarize(out) if out.exists() else f"{out.name}: no profile written")

    def load(
        self,
        server: Server,
        spec: BodySpec,
        connections: int,
        seconds: float,
        label: str | None = None,
    ) -> Sample:
        """Run the load generator against one server; measure its CPU time over the run."""
        key = (server.name, spec.path)
        first = self.next_request.get(key, 1)
        cpu_before = server.cpu_seconds()
        with self.profiled(server, label):
            result = self.loadgen(
                server.url, spec, connections, seconds, first, pin_prefix(self.args.client_cpu)
            )
        cpu = server.cpu_seconds() - cpu_before
        server.check_alive()
        # wrk may have built a request per connection that never completed: skip past them.
        self.next_request[key] = first + result.requests + result.socket_errors + connections + 1
        if result.status_errors or result.socket_errors:
            self.fail_load(server, spec, connections, result)
        return Sample(
            rate=result.rate,
            p50_ms=result.p50_ms,
            p99_ms=result.p99_ms,
            cpu_us=cpu / max(result.requests, 1) * 1e6,
            server_busy=cpu / result.seconds,
            loadgen_busy=result.loadgen_cpu / result.seconds,
        )

    def fail_load(self, server: Server, spec: BodySpec, connections: int, res: LoadResult) -> None:
        """Reproduce one request of a load that saw failures and raise with its answer."""
        key = (server.name, spec.path)
        body = make_body(spec, self.next_request[key])
        self.next_request[key] += 1
        try:
            post_all(server.url, [(spec.path, body)], concurrency=1)
            again = "the same request sent again answered 200"
        except (RequestFailed, aiohttp.ClientError) as exc:
            again = f"reproduced: {exc}"
        raise RuntimeError(
            f"{server.name}: {res.status_errors} non-200 answers and {res.socket_errors} socket "
            f"errors in {res.requests} requests at {connections} conns; {again}; "
            f"loadgen saw: {res.failures}"
        )

    def compare(
        self, servers: tuple[Server, Server], row: Row, spec: BodySpec, connections: int
    ) -> Row:
        """Run a POST row: warm-up, then alternating bridge/ceiling rounds, medians."""
        bridge, ceiling = servers
        per_request = spec.points_per_request if row.unit == "points/s" else 1
        try:
            if self.sizes.warmup > 0:
                for server in servers:
                    self.load(server, spec, connections, self.sizes.warmup)
            pairs: list[tuple[Sample, Sample]] = []
            for index in range(self.sizes.rounds):
                order = servers if index % 2 == 0 else servers[::-1]
                got = {
                    s.name: self.load(
                        s, spec, connections, self.sizes.duration, row.name if index == 0 else None
                    )
                    for s in order
                }
                pair = (got[bridge.name], got[ceiling.name])
                pairs.append(pair)
                log(
                    f"{row.name} round {index + 1}/{self.sizes.rounds}: bridge "
                    f"{pair[0].rate * per_request:,.0f}, ceiling {pair[1].rate * per_request:,.0f}"
                    f" {row.unit}"
                )
        except ROW_ERRORS as exc:
            row.error = str(exc)
            return row
        bridge_side = summarize_side([b for b, _ in pairs], per_request)
        ceiling_side = summarize_side([c for _, c in pairs], per_request)
        row.bridge, row.bridge_latency, row.bridge_cpu_us, bridge_note = bridge_side
        row.ceiling, row.ceiling_latency, row.ceiling_cpu_us, ceiling_note = ceiling_side
        row.notes += [f"bridge {bridge_note}", f"ceiling {ceiling_note}"]
        row.ratio = median([b.rate / c.rate for b, c in pairs if c.rate > 0] or [0.0])
        row.cpu_ratio = median([c.cpu_us / b.cpu_us for b, c in pairs if b.cpu_us > 0] or [0.0])
        return row

    def post_rows(self) -> list[Row]:
        """Single-point, batch, many-metric and histogram ingest, bridge vs ceiling."""
        s = self.sizes
        heavy = s.heavy_connections
        point = BodySpec("/data/scalars?xp=bench&name=loss", "point")
        plan = [
            (Row(f"POST scalar, {c} conn{'s' * (c > 1)}", "1 point/req", "req/s"), point, c)
            for c in s.connections
        ]
        per_req = f"/req, {heavy} conns"
        plan += [
            (
                Row("POST batch, 1 metric", f"{s.batch_points:,} pts{per_req}", "points/s"),
                BodySpec("/data/scalars?xp=bench-batch&name=loss", "batch", s.batch_points),
                heavy,
            ),
            (
                Row(
                    "POST batch, many metrics",
                    f"{s.multi_metrics} x {s.multi_points} pts{per_req}",
                    "points/s",
                ),
                BodySpec("/data/scalars?xp=bench-multi", "multi", s.multi_points, s.multi_metrics),
                heavy,
            ),
            (
                Row("POST histogram tobuild", f"{s.hist_values:,} values{per_req}", "req/s"),
                BodySpec(
                    "/data/histograms?xp=bench-hist&name=h&tobuild=true", "hist", s.hist_values
                ),
                heavy,
            ),
        ]
        bridge = self.server("bridge", self.args.bridge_cmd)
        ceiling = self.server("ceiling", CEILING_CMD)
        try:
            for server in (bridge, ceiling):
                server.start()
                for xp in ("bench", "bench-batch", "bench-multi", "bench-hist"):
                    post_json(server, "/data", xp)
        except ROW_ERRORS as exc:
            for row, _, _ in plan:
                row.error = f"setup: {exc}"
            return [row for row, _, _ in plan]
        try:
            return [self.compare((bridge, ceiling), *step) for step in plan]
        finally:
            bridge.stop()
            ceiling.stop()

    # ---- GET rows: a long series, cold / warm / after one appended point ----

    def read(
        self, server: Server, path: str, count: int, last: int, label: str | None = None
    ) -> tuple[float, float]:
        """GET a series, check its length and last step; return (seconds, server CPU us)."""
        cpu_before = server.cpu_seconds()
        with self.profiled(server, label):
            seconds, body = timed_get(server.url + path)
        cpu = server.cpu_seconds() - cpu_before
        check_series(path, body, count, last)
        return seconds, cpu * 1e6

    def read_rows(self) -> list[Row]:
        """Time GET of a long series: after a restart, again, and after appending one point."""
        n = self.sizes.series_points
        size = f"{n:,} pts"
        rows = [
            Row("GET series, cold", size, "s to last byte"),
            Row("GET series, warm", size, "s to last byte"),
            Row("GET series, +1 point", size, "s to last byte"),
        ]
        bridge = self.server("bridge-read", self.args.bridge_cmd)
        ceiling = self.server("ceiling-read", f"{CEILING_CMD} --series-points {n}")
        try:
            last = self.fill_series(bridge, n)
            self.time_reads(bridge, ceiling, rows, n, last)
        except ROW_ERRORS as exc:
            for row in rows:
                row.error = row.error or str(exc)
        finally:
            bridge.stop()
            ceiling.stop()
        return rows

    def fill_series(self, bridge: Server, n: int) -> int:
        """Start a bridge on an empty logdir, store one n-point metric; return its last step."""
        bridge.start()
        post_json(bridge, "/data", "bench-read")
        spec = BodySpec(series_path("bench-read", "loss"), "batch", min(n, self.sizes.batch_points))
        count, seconds = post_all(bridge.url, batch_requests(spec, n))
        self.notes.append(
            f"filling the {n:,}-point series: {count:,} batch POSTs, "
            f"{n / seconds:,.0f} points/s (Python client, 4 conns)"
        )
        return last_step(spec, n)

    def time_reads(
        self, bridge: Server, ceiling: Server, rows: list[Row], n: int, last: int
    ) -> None:
        """Cold reads (each after a restart), warm reads, reads after appending one point."""
        path = series_path("bench-read", "loss")
        cold, restarts = [], []
        for _ in range(self.sizes.reads):
            bridge.restart()
            restarts.append(bridge.start_seconds)
            cold.append(self.read(bridge, path, n, last, rows[0].name if not cold else None))
        warm = [
            self.read(bridge, path, n, last, None if index else rows[1].name)
            for index in range(self.sizes.reads)
        ]
        appended = []
        for index in range(1, self.sizes.reads + 1):
            post_json(bridge, path, [1.8e9 + index, last + index, 0.5])
            label = rows[2].name if index == 1 else None
            appended.append(self.read(bridge, path, n + index, last + index, label))
        ceiling.start()
        self.read(ceiling, path, n, n - 1)  # the ceiling builds its series on the first GET
        serialise = [self.read(ceiling, path, n, n - 1) for _ in range(self.sizes.reads)]
        fill_time_row(rows[0], cold)
        fill_time_row(rows[1], warm, serialise)
        fill_time_row(rows[2], appended)
        rows[0].notes.append(
            f"bridge restart until GET / answers: median {median(restarts):.2f} s "
            f"(a logdir holding the {n:,}-point series)"
        )
        rows[1].notes.append("ceiling: orjson.dumps of an in-memory list of the same size")

    # ---- memory: many experiments and metrics, all read once after a restart ----

    def memory_rows(self) -> list[Row]:
        """RSS of a restarted bridge after reading every metric, above a fresh empty bridge."""
        s = self.sizes
        total = s.mem_xps * s.mem_metrics * s.mem_points
        size = f"{s.mem_xps} xp x {s.mem_metrics} x {s.mem_points:,} pts"
        rows = [Row("RSS above base", size, "MiB"), Row("RSS per point", size, "bytes")]
        bridge = self.server("bridge-mem", self.args.bridge_cmd)
        names = [f"mem-{index:03d}" for index in range(s.mem_xps)]
        try:
            bridge.start()
            base = bridge.rss_bytes()
            post_all(bridge.url, (("/data", json.dumps(name).encode()) for name in names))
            last = self.fill_metrics(bridge, names)
            bridge.restart()
            restarted = bridge.rss_bytes()
            for name in names:
                for metric in range(s.mem_metrics):
                    self.read(bridge, series_path(name, f"m{metric}"), s.mem_points, last)
            held = bridge.rss_bytes() - base
        except ROW_ERRORS as exc:
            for row in rows:
                row.error = str(exc)
            return rows
        finally:
            bridge.stop()
        rows[0].bridge = held / MIB
        rows[1].bridge = held / total
        rows[0].notes.append(
            f"base (fresh bridge, empty logdir) {base / MIB:.1f} MiB; after the restart, before "
            f"any read {restarted / MIB:.1f} MiB; after reading all {(base + held) / MIB:.1f} MiB"
        )
        return rows

    def fill_specs(self, names: list[str], multi: bool) -> list[BodySpec]:
        """Batch bodies storing every memory-row metric: many-metric ones, or one per metric."""
        s = self.sizes
        count = min(s.mem_points, s.batch_points)
        if multi:
            return [
                BodySpec(f"/data/scalars?xp={quote(name)}", "multi", count, s.mem_metrics)
                for name in names
            ]
        return [
            BodySpec(series_path(name, f"m{metric}"), "batch", count)
            for name in names
            for metric in range(s.mem_metrics)
        ]

    def fill_metrics(self, bridge: Server, names: list[str]) -> int:
        """Store the memory-row points (one metric per body if needed); return the last step."""
        points = self.sizes.mem_points
        specs = self.fill_specs(names, multi=True)
        last = last_step(specs[0], points)
        began = time.perf_counter()
        try:
            post_all(bridge.url, [(specs[0].path, make_body(specs[0], 1))], concurrency=1)
            rest = [batch_requests(specs[0], points, first=2)]
            rest += [batch_requests(spec, points) for spec in specs[1:]]
        except RequestFailed as exc:
            if exc.status >= 500:
                raise
            self.notes.append(f"many-metric body refused ({exc}); filled one metric per request")
            rest = [batch_requests(spec, points) for spec in self.fill_specs(names, multi=False)]
        post_all(bridge.url, itertools.chain.from_iterable(rest))
        total = len(names) * self.sizes.mem_metrics * points
        self.notes.append(
            f"filling {total:,} points for the memory rows: "
            f"{total / (time.perf_counter() - began):,.0f} points/s (Python client, 4 conns)"
        )
        return last


def summarize_side(
    samples: list[Sample], per_request: int
) -> tuple[float, tuple[float, float], float, str]:
    """Medians of one server's rounds: rate, (p50, p99), CPU us/req, and a busy note."""
    rate = median([x.rate for x in samples]) * per_request
    latency = (median([x.p50_ms for x in samples]), median([x.p99_ms for x in samples]))
    busy = median([x.server_busy for x in samples])
    loadgen = median([x.loadgen_busy for x in samples])
    note = f"busy {busy:.0%}, load generator busy {loadgen:.0%}"
    return rate, latency, median([x.cpu_us for x in samples]), note


def batch_requests(spec: BodySpec, points: int, first: int = 1) -> Iterator[tuple[str, bytes]]:
    """The POSTs (from request number `first` on) that store `points` steps with `spec` bodies."""
    if points % spec.count:
        raise ValueError(f"{points} points do not split into bodies of {spec.count}")
    for request in range(first, points // spec.count + 1):
        yield spec.path, make_body(spec, request)


def last_step(spec: BodySpec, points: int) -> int:
    """The last step stored by batch_requests(spec, points)."""
    return spec.steps(points // spec.count)[-1]


def fill_time_row(
    row: Row, timings: list[tuple[float, float]], reference: list[tuple[float, float]] | None = None
) -> None:
    """Put median seconds and CPU of reads into a row; ratio = reference time / bridge time."""
    row.bridge = median([t for t, _ in timings])
    row.bridge_cpu_us = median([c for _, c in timings])
    if reference:
        row.ceiling = median([t for t, _ in reference])
        row.ceiling_cpu_us = median([c for _, c in reference])
        row.ratio = row.ceiling / row.bridge if row.bridge else None
        row.cpu_ratio = row.ceiling_cpu_us / row.bridge_cpu_us if row.bridge_cpu_us else None


# ---- the report ----

COLUMNS = (
    "row",
    "size",
    "unit",
    "bridge",
    "ceiling",
    "bridge/ceiling",
    "by CPU",
    "bridge p50 / p99 ms",
    "ceiling p50 / p99 ms",
    "bridge CPU us/req",
    "ceiling CPU us/req",
)


def fmt_value(value: float | None, unit: str) -> str:
    """Format one measured value for its unit."""
    if value is None:
        return "-"
    if unit.endswith("/s"):
        return f"{value:,.0f}"
    if unit.startswith("s "):
        return f"{value:.3f}"
    return f"{value:,.1f}"


def fmt_ratio(value: float | None) -> str:
    """Format a bridge/ceiling ratio."""
    return "-" if value is None else f"{value:.2f}"


def fmt_latency(latency: tuple[float, float] | None) -> str:
    """Format p50 / p99 milliseconds."""
    return "-" if latency is None else f"{latency[0]:.2f} / {latency[1]:.2f}"


def fmt_cpu(value: float | None) -> str:
    """Format CPU microseconds per request."""
    return "-" if value is None else f"{value:,.0f}"


def table(rows: list[Row], fallback: bool) -> str:
    """Render the rows as one Markdown table with aligned columns."""
    headers = list(COLUMNS)
    if fallback:
        headers[3] += " (python fallback)"
        headers[4] += " (python fallback)"
    cells = [headers]
    for row in rows:
        cells.append(
            [
                row.name,
                row.size,
                row.unit,
                "ERROR" if row.error else fmt_value(row.bridge, row.unit),
                fmt_value(row.ceiling, row.unit),
                fmt_ratio(row.ratio),
                fmt_ratio(row.cpu_ratio),
                fmt_latency(row.bridge_latency),
                fmt_latency(row.ceiling_latency),
                fmt_cpu(row.bridge_cpu_us),
                fmt_cpu(row.ceiling_cpu_us),
            ]
        )
    widths = [max(len(line[i]) for line in cells) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |"
        for line in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def report(rows: list[Row], notes: list[str], context: dict[str, str]) -> str:
    """The whole report: header lines, the table, then notes."""
    lines = [
        f"crayon-bridge benchmark, {context['date']}, {context['mode']} mode, {context['elapsed']}",
        f"machine: {context['machine']}; 1-min load average {context['loadavg']}",
        f"load: {context['loadgen']}; {context['pinning']}",
        f"method: {context['method']}",
        "",
        table(rows, context["fallback"] == "yes"),
        "",
        "Notes:",
    ]
    for row in rows:
        if row.error:
            lines.append(f"- {row.name}: ERROR: {row.error}")
        lines.extend(f"- {row.name}: {note}" for note in row.notes)
    lines.extend(f"- {note}" for note in notes)
    return "\n".join(lines) + "\n"


# ---- setup and main ----


def install_wrk() -> str:
    """Install wrk with apt-get (saying so), or exit with how to get it."""
    hint = "install it (`sudo apt-get install -y wrk`), or use --smoke or --loadgen python"
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SystemExit(f"wrk is needed for the full benchmark and is not installed: {hint}")
    log("wrk is not installed: running `apt-get install -y wrk`")
    for command in (["apt-get", "install", "-y", "wrk"], ["apt-get", "update"]) * 2:
        subprocess.run(command, stdout=sys.stderr, stderr=sys.stderr, timeout=600, check=False)
        if (version := wrk_version()) is not None:
            return version
    raise SystemExit(f"`apt-get install -y wrk` did not install wrk: {hint}")


def choose_loadgen(choice: str, smoke: bool) -> tuple[LoadGenerator, str]:
    """wrk when present (installed in full mode), else the Python fallback in smoke mode."""
    version = wrk_version()
    if choice == "python" or (choice == "auto" and version is None and smoke):
        return run_python, "python fallback (aiohttp client, closed loop)"
    if version is None:
        version = install_wrk()
    return run_wrk, f"{version} (1 thread, bench/post.lua)"


def set_pinning(args: argparse.Namespace) -> str:
    """Pin this process (and so the load generator) to the client CPU; describe the pinning."""
    cpus = os.sched_getaffinity(0)
    usable = {args.server_cpu, args.client_cpu} <= cpus and args.server_cpu != args.client_cpu
    if args.no_pin or not usable or shutil.which("taskset") is None:
        args.server_cpu = args.client_cpu = None
        return "not pinned (--no-pin, taskset missing, or the CPUs are not available)"
    os.sched_setaffinity(0, {args.client_cpu})
    return f"servers on CPU {args.server_cpu}, load generator and client on CPU {args.client_cpu}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 1 s runs, 1 round")
    parser.add_argument("--rounds", type=int, help="rounds per server and row (default 3)")
    parser.add_argument("--duration", type=float, help="seconds per load run (default 5)")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    parser.add_argument("--json", type=Path, help="write the rows as JSON to this file")
    parser.add_argument("--bridge-cmd", default=BRIDGE_CMD, help="command template for the bridge")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--server-cpu", type=int, default=1)
    parser.add_argument("--client-cpu", type=int, default=0)
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument("--keep-data", action="store_true", help="keep logdirs and server logs")
    parser.add_argument(
        "--profile",
        type=Path,
        help="record py-spy profiles of the bridge (first round of each row) into this directory",
    )
    parser.add_argument(
        "--only", choices=("post", "read", "memory"), action="append", help="run only these parts"
    )
    args = parser.parse_args(argv)
    if args.rounds is not None and not 1 <= args.rounds <= 50:
        parser.error("--rounds must be between 1 and 50")
    if args.duration is not None and not 1 <= args.duration <= 120:
        parser.error("--duration must be between 1 and 120 seconds")
    return args


def _terminate(signum: int, frame: object) -> None:
    """Turn SIGTERM into SystemExit so that servers are stopped in `finally`."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table; exit 1 if any row failed."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    sizes = SMOKE if args.smoke else FULL
    overrides = {"rounds": args.rounds, "duration": args.duration}
    sizes = replace(sizes, **{k: v for k, v in overrides.items() if v is not None})
    if args.profile is not None and py_spy_path() is None:
        raise SystemExit("--profile needs py-spy: `pip install py-spy` into this virtualenv")
    loadgen, loadgen_name = choose_loadgen(args.loadgen, args.smoke)
    nproc = os.cpu_count()
    pinning = set_pinning(args)
    parts = args.only or ["post", "read", "memory"]
    bench = Bench(args, sizes, loadgen)
    began = time.monotonic()
    load_before = os.getloadavg()[0]
    rows: list[Row] = []
    try:
        for part, run_part in (
            ("post", bench.post_rows),
            ("read", bench.read_rows),
            ("memory", bench.memory_rows),
        ):
            if part in parts:
                log(f"part: {part}")
                rows += run_part()
    finally:
        bench.close()
    context = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "smoke" if args.smoke else "full",
        "elapsed": f"{time.monotonic() - began:.0f} s",
        "loadavg": f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end",
        "machine": (
            f"{nproc} CPUs ({cpu_model()}), {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, aiohttp {aiohttp.__version__}"
        ),
        "loadgen": loadgen_name,
        "fallback": "yes" if loadgen is run_python else "no",
        "pinning": pinning,
        "method": (
            f"{sizes.rounds} round(s) x {sizes.duration:g} s per server and row after a "
            f"{sizes.warmup:g} s warm-up, bridge and ceiling alternating; medians over rounds; "
            "bridge/ceiling = median of per-round ratios (for times: ceiling time / bridge "
            "time); by CPU = the same with server CPU time per request; GET and RSS rows: "
            f"median of {sizes.reads} read(s)"
        ),
    }
    text = report(rows, bench.notes, context)
    if bench.profiles:
        summary = "\n\n".join(bench.profiles) + "\n"
        (args.profile / "summary.txt").write_text(summary)
        log(f"py-spy profiles in {args.profile} (collapsed stacks), summary:\n{summary}")
        text += f"- profiled with py-spy ({args.profile}): numbers perturbed by sampling\n"
    print(text, end="")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    if args.json:
        args.json.write_text(json.dumps({"context": context, "rows": [asdict(r) for r in rows]}))
    return 1 if any(row.error for row in rows) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted: every server this run started is stopped")
        sys.exit(130)
