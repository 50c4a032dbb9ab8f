"""Load generators: wrk with bench/post.lua, and an aiohttp fallback sending the same bodies."""

from __future__ import annotations

import asyncio
import functools
import json
import math
import re
import resource
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

LUA_SCRIPT = Path(__file__).with_name("post.lua")
WT0 = 1700000000.0
JSON_HEADERS = {"Content-Type": "application/json"}
MAX_FALLBACK_REQUESTS = 2_000_000
REQUEST_TIMEOUT = 30.0


@dataclass(frozen=True)
class BodySpec:
    """What each request carries: KIND (point, batch, multi, hist), its sizes, and its path."""

    path: str
    kind: str
    count: int = 1
    metrics: int = 1

    @property
    def points_per_request(self) -> int:
        """Scalar points (or histograms) stored per request."""
        if self.kind == "batch":
            return self.count
        if self.kind == "multi":
            return self.count * self.metrics
        return 1

    @property
    def stride(self) -> int:
        """Steps per request in batch bodies: the power of 10 above the largest index."""
        return 10 ** len(str(self.count - 1))

    def steps(self, request: int) -> range:
        """The steps request number `request` (from 1 on) carries, for each metric."""
        if self.kind in ("batch", "multi"):
            first = request * self.stride
            return range(first, first + self.count)
        return range(request, request + 1)


@dataclass
class LoadResult:
    """One load run: requests completed, wall time, latency percentiles and failures."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    status_errors: int
    socket_errors: int
    loadgen_cpu: float
    source: str
    failures: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0


@functools.cache
def _batch_tail(count: int) -> list[str]:
    """Per-point pieces after the "wt,q" prefix of a batch body, as post.lua builds them."""
    digits = len(str(count - 1))
    return [f"{i:0{digits}d},{math.sin(i * 0.37):.6f}]" for i in range(count)]


@functools.cache
def _hist_values(count: int) -> str:
    """The histogram values post.lua sends, as one comma-separated string."""
    values = (math.sin(i * 0.37) * 3.0 + (i % 7) * 0.1 for i in range(1, count + 1))
    return ",".join(f"{v:.6f}" for v in values)


def make_body(spec: BodySpec, request: int) -> bytes:
    """The body post.lua sends as request number `request` (steps: see BodySpec.steps)."""
    wt = f"{WT0 + request * 0.001:.3f}"
    if spec.kind in ("batch", "multi"):
        prefix = f"{wt},{request}"
        inner = "[" + ",".join(f"[{prefix}{tail}" for tail in _batch_tail(spec.count)) + "]"
        if spec.kind == "batch":
            return inner.encode()
        return ("{" + ",".join(f'"m{m}":{inner}' for m in range(spec.metrics)) + "}").encode()
    if spec.kind == "hist":
        return f"[{wt},{request},[{_hist_values(spec.count)}]]".encode()
    return f"[{wt},{request},{math.sin(request * 0.01):.6f}]".encode()


def wrk_version() -> str | None:
    """The installed wrk's version line, or None when wrk is missing."""
    if shutil.which("wrk") is None:
        return None
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10)
    match = re.search(r"wrk \S+", out.stdout + out.stderr)
    return match.group(0) if match else "wrk"


def _children_cpu() -> float:
    """CPU time of all waited-for child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _self_cpu() -> float:
    """CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_wrk(
    base_url: str,
    spec: BodySpec,
    connections: int,
    seconds: float,
    first_request: int,
    pin: list[str],
) -> LoadResult:
    """Run wrk (one thread) with post.lua for `seconds` and parse the line its done() prints."""
    command = [
        *pin,
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        f"{int(REQUEST_TIMEOUT)}s",
        "-s",
        str(LUA_SCRIPT),
        base_url + spec.path,
        "--",
        spec.kind,
        str(spec.count),
        str(spec.metrics),
        str(first_request),
    ]
    cpu_before = _children_cpu()
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    loadgen_cpu = _children_cpu() - cpu_before
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCHJSON ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(
            f"wrk failed ({out.returncode}): {out.stdout[-500:]} {out.stderr[-500:]}"
        )
    data = json.loads(line.removeprefix("BENCHJSON "))
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        status_errors=data["status"],
        socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        loadgen_cpu=loadgen_cpu,
        source="wrk",
    )


def _percentile(sorted_values: list[float], fraction: float) -> float:
    """The value at `fraction` of a sorted list (nearest rank), 0.0 when empty."""
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


async def _python_load(
    base_url: str, spec: BodySpec, connections: int, seconds: float, first_request: int
) -> LoadResult:
    """Closed-loop load from `connections` aiohttp workers, bounded by time and request count."""
    latencies: list[float] = []
    failures: list[str] = []
    counters = {"request": first_request, "status": 0, "socket": 0}
    url = base_url + spec.path
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    connector = aiohttp.TCPConnector(limit=connections)
    cpu_before = _self_cpu()
    began = time.perf_counter()
    deadline = began + seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        """Send requests back to back until the deadline or the request cap."""
        while time.perf_counter() < deadline and len(latencies) < MAX_FALLBACK_REQUESTS:
            body = make_body(spec, counters["request"])
            counters["request"] += 1
            sent = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=JSON_HEADERS) as resp:
                    answer = await resp.read()
                    if resp.status != 200:
                        counters["status"] += 1
                        if len(failures) < 3:
                            failures.append(f"{resp.status} {answer[:200]!r}")
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                counters["socket"] += 1
                if len(failures) < 3:
                    failures.append(repr(exc))
                continue
            latencies.append(time.perf_counter() - sent)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(worker(session) for _ in range(connections)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return LoadResult(
        requests=len(latencies) + counters["status"],
        seconds=elapsed,
        p50_ms=_percentile(latencies, 0.50) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
        status_errors=counters["status"],
        socket_errors=counters["socket"],
        loadgen_cpu=_self_cpu() - cpu_before,
        source="python",
        failures=failures,
    )


def run_python(
    base_url: str,
    spec: BodySpec,
    connections: int,
    seconds: float,
    first_request: int,
    pin: list[str],
) -> LoadResult:
    """The fallback load generator (in this process, which is already pinned)."""
    del pin
    return asyncio.run(_python_load(base_url, spec, connections, seconds, first_request))


LoadGenerator = Callable[[str, BodySpec, int, float, int, list[str]], LoadResult]


async def _post_all(
    base_url: str, requests: Iterable[tuple[str, bytes]], concurrency: int
) -> tuple[int, float]:
    """POST every (path, body) with `concurrency` connections; raise on the first non-200."""
    iterator = iter(requests)
    done = {"count": 0}
    timeout = aiohttp.ClientTimeout(total=300)
    connector = aiohttp.TCPConnector(limit=concurrency)
    began = time.perf_counter()

    async def worker(session: aiohttp.ClientSession) -> None:
        """Take the next request from the shared iterator until it is exhausted."""
        for path, body in iterator:
            async with session.post(base_url + path, data=body, headers=JSON_HEADERS) as resp:
                answer = await resp.read()
                if resp.status != 200:
                    raise RequestFailed("POST", path, body, resp.status, answer)
            done["count"] += 1

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return done["count"], time.perf_counter() - began


def post_all(
    base_url: str, requests: Iterable[tuple[str, bytes]], concurrency: int = 4
) -> tuple[int, float]:
    """POST a bounded sequence of bodies; return (requests done, seconds)."""
    return asyncio.run(_post_all(base_url, requests, concurrency))


class RequestFailed(RuntimeError):
    """A request the benchmark needs answered something else than 200."""

    def __init__(self, method: str, path: str, body: bytes, status: int, answer: bytes) -> None:
        shown = body if len(body) <= 160 else body[:160] + b"...(%d bytes)" % len(body)
        super().__init__(f"{method} {path} body {shown!r} -> {status} {answer[:300]!r}")
        self.status = status
