"""Shared tools of the durability tests: bounded load writers, answers and event-file checks.

Not a conftest (a second `conftest.py` module would shadow `from conftest import ...` in other
test directories): test modules here import it by name, pytest puts this directory on sys.path.

Every point a writer sends carries a unique step; its wall time and value are derived from that
step exactly (the value is float32-exact, as `simple_value` stores it), so a point found in a GET
or a file is checked to be exactly a point that was sent, and counted to be there once.
"""

from __future__ import annotations

import http.client as httplib
import io
import json
import threading
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import (
    EventFileLoader,
    LegacyEventFileLoader,
)
from tensorboard.compat.proto import event_pb2

from crayon_bridge import tfrecord
from crayon_bridge.reader import list_event_files

HTTP_TIMEOUT = 20.0
WALL_TIME_BASE = 1_600_000_000.0
STEPS_PER_WRITER = 1_000_000


def point(step: int) -> list:
    """The one point a writer ever sends with this step: `[wall_time, step, value]`."""
    return [WALL_TIME_BASE + step / 1024, step, float(step % 1_000_000) + 0.25]


class Http:
    """One keep-alive HTTP/1.1 connection; reconnects after a failure."""

    def __init__(self, url: str, timeout: float = HTTP_TIMEOUT) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname, parts.port
        self._timeout = timeout
        self._connection: httplib.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        params: dict | None = None,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, bytes]:
        """Send one request and return `(status, body)`; raises OSError/HTTPException."""
        if self._connection is None:
            self._connection = httplib.HTTPConnection(self._host, self._port, timeout=self._timeout)
        target = path + ("?" + urlencode(params) if params else "")
        headers = {"Content-Type": content_type} if body is not None else {}
        try:
            self._connection.request(method, target, body=body, headers=headers)
            response = self._connection.getresponse()
            return response.status, response.read()
        except BaseException:
            self.close()
            raise

    def json(self, method: str, path: str, params: dict | None = None, data=None):
        """Send JSON (if any) and return `(status, parsed JSON or text)`."""
        body = None if data is None else json.dumps(data).encode()
        status, answer = self.request(method, path, params, body)
        try:
            return status, json.loads(answer)
        except ValueError:
            return status, answer.decode("utf-8", "replace")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> Http:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def create_experiment(url: str, name: str) -> None:
    http = Http(url)
    try:
        status, text = http.json("POST", "/data", data=name)
        assert status == 200, (status, text)
    finally:
        http.close()


def get_scalars(url: str, xp: str, name: str) -> list[list]:
    """The bridge's answer for a scalar series (asserting 200)."""
    http = Http(url, timeout=60)
    try:
        status, rows = http.json("GET", "/data/scalars", {"xp": xp, "name": name})
    finally:
        http.close()
    assert status == 200, (status, rows)
    return rows


@dataclass
class Request:
    """One POST a writer made: its steps, when it was sent and answered, and the answer."""

    steps: list[int]
    sent_at: float
    answered_at: float | None = None
    status: int | None = None  # None: no answer (connection refused, reset or timed out)
    text: str = ""


@dataclass
class LoadWriters:
    """Threads posting scalar points (single points and batches) to one experiment and metric.

    Bounded: each writer stops after `max_requests` requests, at `stop()`, or after `duration`
    seconds. Every request is recorded; `acked()` are the steps of the 200 answers.
    """

    url: str
    xp: str
    metric: str
    writers: int = 6
    first_writer: int = 0  # writer ids (and so step ranges) start here
    max_requests: int = 2000
    duration: float = 15.0
    max_batch: int = 300
    stop_on_no_answer: bool = True
    requests: list[Request] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)
    _acked_points: int = 0

    def start(self) -> LoadWriters:
        for number in range(self.first_writer, self.first_writer + self.writers):
            thread = threading.Thread(target=self._run, args=(number,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _run(self, number: int) -> None:
        http = Http(self.url)
        step = number * STEPS_PER_WRITER
        deadline = time.monotonic() + self.duration
        try:
            for count in range(self.max_requests):
                if self._stop.is_set() or time.monotonic() > deadline:
                    return
                # Mix single points, small and large batches, and the by-metric object form.
                size = 1 if count % 3 == 0 else 1 + (count * 7919 + number) % self.max_batch
                steps = list(range(step, step + size))
                step += size
                if size == 1:
                    body, params = point(steps[0]), {"xp": self.xp, "name": self.metric}
                elif count % 3 == 1:
                    body = [point(s) for s in steps]
                    params = {"xp": self.xp, "name": self.metric}
                else:
                    body, params = {self.metric: [point(s) for s in steps]}, {"xp": self.xp}
                request = Request(steps, time.monotonic())
                with self._lock:
                    self.requests.append(request)
                try:
                    status, answer = http.request(
                        "POST", "/data/scalars", params, json.dumps(body).encode()
                    )
                except (OSError, httplib.HTTPException):
                    if self.stop_on_no_answer:
                        return
                    continue
                request.answered_at = time.monotonic()
                request.text = answer.decode("utf-8", "replace")
                request.status = status  # set last: a reader seeing it sees the rest
                if status == 200:
                    with self._lock:
                        self._acked_points += size
        finally:
            http.close()

    @property
    def acked_points(self) -> int:
        return self._acked_points

    def wait_for_acks(self, points: int, timeout: float) -> None:
        """Poll until `points` points were acknowledged (or fail after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while self._acked_points < points:
            assert time.monotonic() < deadline, f"only {self._acked_points} points acknowledged"
            assert any(t.is_alive() for t in self._threads), "every writer stopped early"
            time.sleep(0.005)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self.join(timeout)

    def join(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self._threads), "a writer did not stop"

    def snapshot(self) -> list[Request]:
        with self._lock:
            return list(self.requests)

    def acked(self, before: float | None = None) -> set[int]:
        """Steps of every acknowledged point (answered before monotonic time `before`)."""
        return {
            step
            for request in self.snapshot()
            if request.status == 200 and (before is None or request.answered_at < before)
            for step in request.steps
        }

    def sent(self) -> set[int]:
        return {step for request in self.snapshot() for step in request.steps}

    def statuses(self) -> Counter:
        return Counter(request.status for request in self.snapshot())


def check_points(rows, acked: set[int], sent: set[int]) -> dict[int, list]:
    """Assert every acked step is in `rows` once, and every row is exactly a point that was sent.

    Returns the rows by step.
    """
    steps = Counter(row[1] for row in rows)
    twice = [step for step, count in steps.items() if count > 1]
    assert not twice, f"{len(twice)} points stored more than once, e.g. step {twice[:5]}"
    by_step = {row[1]: list(row) for row in rows}
    foreign = [step for step in by_step if step not in sent]
    assert not foreign, f"{len(foreign)} points that were never sent, e.g. {foreign[:5]}"
    wrong = [row for step, row in by_step.items() if row != point(step)]
    assert not wrong, f"{len(wrong)} points with the wrong wall time or value, e.g. {wrong[:3]}"
    missing = sorted(acked - by_step.keys())
    assert not missing, f"{len(missing)} acknowledged points missing, e.g. steps {missing[:5]}"
    return by_step


@dataclass
class FileScan:
    """One event file as our own framing parser sees it."""

    name: str
    size: int
    complete: int  # end of the last complete record
    records: int
    data: bytes

    @property
    def torn(self) -> bool:
        return self.complete != self.size


def scan_event_files(directory: Path) -> list[FileScan]:
    """Parse every event file of `directory` with the project's framing parser, in name order.

    Raises CorruptRecordError if a complete record fails its checks (garbage in a file).
    """
    return [
        scan_bytes(name, (directory / name).read_bytes()) for name, _ in list_event_files(directory)
    ]


def scan_bytes(name: str, data: bytes) -> FileScan:
    """Parse one event file's bytes (raises CorruptRecordError on a damaged complete record)."""
    complete = records = 0
    for _, end in tfrecord.iter_payloads(data):
        complete, records = end, records + 1
    return FileScan(name, len(data), complete, records, data)


def payloads(data: bytes) -> list[bytes]:
    return [payload for payload, _ in tfrecord.iter_payloads(data)]


def scalar_points_in(data: bytes, tag: str) -> list[list]:
    """The `[wall_time, step, value]` of every `simple_value` of `tag` in an event file's bytes."""
    rows = []
    for payload in payloads(data):
        event = event_pb2.Event.FromString(payload)
        for value in event.summary.value:
            if value.tag == tag and value.WhichOneof("value") == "simple_value":
                rows.append([event.wall_time, event.step, value.simple_value])
    return rows


def check_with_tensorboard(directory: Path, tag: str, acked: set[int], sent: set[int]) -> int:
    """TensorBoard's loaders read every event file of `directory` fully and see every acked point.

    Each file's record count from `LegacyEventFileLoader` and `EventFileLoader` must equal what
    the project's parser finds (a loader stops quietly at a damaged or torn record, so a count is
    how it shows). `EventAccumulator` must see every acked point with its step and value.
    Returns the number of files.
    """
    scans = scan_event_files(directory)
    assert scans, f"no event files in {directory}"
    for scan in scans:
        path = str(directory / scan.name)
        legacy = list(LegacyEventFileLoader(path).Load())
        assert len(legacy) == scan.records, (scan.name, len(legacy), scan.records)
        assert legacy[0].file_version == "brain.Event:2", scan.name
        assert len(list(EventFileLoader(path).Load())) == scan.records, scan.name
    accumulator = EventAccumulator(str(directory), size_guidance={"scalars": 0, "histograms": 0})
    accumulator.Reload()
    seen = {}
    if tag in accumulator.Tags()["scalars"]:
        for event in accumulator.Scalars(tag):
            assert event.step not in seen, f"TensorBoard sees step {event.step} twice"
            seen[event.step] = event
    for step in acked:
        assert step in seen, f"TensorBoard misses acknowledged step {step}"
        assert seen[step].value == point(step)[2], step
    assert set(seen) <= sent, "TensorBoard sees points that were never sent"
    return len(scans)


def zip_members(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        assert zipped.testzip() is None
        return {info.filename: zipped.read(info) for info in zipped.infolist()}


def poll(condition, timeout: float, what: str) -> None:
    """Poll `condition()` every few milliseconds until true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)
