"""`SummaryWriter`: tensorboardX-style logging to a bridge that never waits for the network.

How it works: `add_*` calls validate their arguments, stamp a step and a wall time and append a
tuple to a `collections.deque` (atomic; no wake-up; a lock only to hand out automatic steps in
order across threads): well under a microsecond. A daemon
thread wakes every `flush_interval` seconds (or at once on `flush()`/`close()`), takes up to
`max_batch` points and sends all their scalars in one `POST /data/scalars?xp=...` (the bridge
stores a batch all or nothing), then each histogram, over one keep-alive connection.

Delivery is exactly once and in order per tag, as long as the bridge is eventually reachable:
- batches are sent one at a time, in queue order;
- when the bridge is down (connection refused, or a connection that breaks before the request
  left whole) or answers 5xx/408/429, the same batch is retried with exponential backoff
  (`min_backoff` doubling up to `max_backoff`); nothing is sent after it until it is through;
- when the connection breaks *after* the request was sent (a timeout, or the bridge dying
  mid-request), the bridge may or may not have stored the batch. Before resending, the writer
  reads one of the batch's series back and resends only if the batch's points are not its tail.
  This read is the price of never storing a point twice; it only happens after such failures.
- other 4xx answers are not retried: a batch of several tags is split per tag so that one bad
  tag does not lose the others, a 413 batch is split in halves, and what the bridge still
  refuses is counted in `dropped` and logged on the `crayon_bridge.client` logger.

The queue is bounded (`capacity` points). When it is full, `add_*` waits up to `block_timeout`
seconds for room (`None`: as long as it takes), then drops the new point, counts it in `dropped`
and warns once (`DeliveryWarning`).
"""

from __future__ import annotations

import atexit
import functools
import logging
import socket
import threading
import time
import warnings
import weakref
from collections import deque
from typing import Any

from crayon_bridge.client._http import DEFAULT_URL, HttpSession, encode_json
from crayon_bridge.client._values import (
    MAX_STEP,
    check_histogram_values,
    check_name,
    check_step,
    check_wall_time,
    flat_values,
    histogram_payload,
)
from crayon_bridge.client.errors import CrayonConnectionError, CrayonError, DeliveryWarning

logger = logging.getLogger("crayon_bridge.client")

_now = time.time
_WALL_TIME_TOLERANCE = 1e-6
_CLOSE_GRACE = 1.0


class _GiveUp(Exception):
    """Raised inside the sender when `close(timeout)` ran out: stop retrying."""


class _Histogram:
    """A queued histogram: the values are copied when it is logged."""

    __slots__ = ("step", "tag", "values", "wall_time")

    def __init__(self, tag: str, wall_time: float, step: int, values: Any) -> None:
        self.tag = tag
        self.wall_time = wall_time
        self.step = step
        self.values = values


def _retryable(status: int | None) -> bool:
    return status is None or status >= 500 or status in (408, 429)


def _ends_with(rows: list[list[Any]], points: list[tuple[float, int, Any]]) -> bool:
    """Tell whether a series read from the bridge ends with `points` (same steps and times)."""
    if len(rows) < len(points):
        return False
    tail = rows[len(rows) - len(points) :]
    return all(
        row[1] == point[1] and abs(row[0] - point[0]) <= _WALL_TIME_TOLERANCE
        for row, point in zip(tail, points, strict=True)
    )


class SummaryWriter:
    """Log scalars and histograms to experiment `experiment` of the bridge at `url`.

    The experiment is created if it does not exist, and appended to if it does: steps left to
    the writer (`global_step=None`) continue after each metric's last step. The constructor
    talks to the bridge (and raises `CrayonError` if it cannot); afterwards nothing raises
    because of the network. Use it as a context manager, or call `close()`.

    Args:
        url: the bridge, e.g. `http://127.0.0.1:8889` (a token may ride in it:
            `http://x:TOKEN@host:8889`).
        experiment: the experiment's name (default: like tensorboardX's run directories,
            `<Mon><DD>_<HH-MM-SS>_<hostname>`).
        token: the bridge's access token, sent as `Authorization: Bearer`.
        capacity: how many points may wait in the queue.
        block_timeout: how long an `add_*` call waits for room in a full queue before dropping
            its point (`None`: no limit, `0`: drop at once).
        max_batch: the most points sent in one request.
        flush_interval: how often the sender looks for new points, in seconds.
        timeout: how long to wait for one answer from the bridge, in seconds.
        connect_timeout: how long to wait for a connection, in seconds.
        min_backoff, max_backoff: first and longest wait between retries, in seconds.
        exit_timeout: at interpreter exit an open writer is closed with this timeout.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        experiment: str | None = None,
        token: str | None = None,
        *,
        capacity: int = 100_000,
        block_timeout: float | None = 0.1,
        max_batch: int = 5_000,
        flush_interval: float = 0.05,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        min_backoff: float = 0.05,
        max_backoff: float = 2.0,
        exit_timeout: float = 10.0,
    ) -> None:
        if capacity < 1 or max_batch < 1:
            raise ValueError("capacity and max_batch must be at least 1")
        if experiment is None:
            experiment = f"{time.strftime('%b%d_%H-%M-%S')}_{socket.gethostname()}"
        self.experiment = check_name(experiment, "experiment name")
        self.capacity = capacity
        self.block_timeout = block_timeout
        self.max_batch = max_batch
        self.flush_interval = flush_interval
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.exit_timeout = exit_timeout
        self._session = HttpSession(url, token, timeout=timeout, connect_timeout=connect_timeout)
        self.url = self._session.url
        self._xp = {"xp": self.experiment}
        self._queue: deque[Any] = deque()
        self._next_scalar: dict[str, int] = {}
        self._next_histogram: dict[str, int] = {}
        self._step_lock = threading.Lock()
        self._room = threading.Condition()
        self._room_waiters = 0
        self._wake = threading.Event()
        self._abandon = threading.Event()
        self._stats_lock = threading.Lock()
        self._dropped = 0
        self._delivered = 0
        self._inflight = 0
        self._finalized = False
        self._warned_full = False
        self._closing = False
        self._closed = False
        self._close_lock = threading.Lock()
        self._outage: str | None = None
        try:
            self._open_experiment()
        except BaseException:
            self._session.close()
            raise
        self._thread = threading.Thread(
            target=self._run, name=f"crayon-writer-{self.experiment}", daemon=True
        )
        self._thread.start()
        self._atexit = functools.partial(_close_at_exit, weakref.ref(self))
        atexit.register(self._atexit)

    # Caller side
    def add_scalar(
        self,
        tag: str,
        scalar_value: Any,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Queue one scalar point; `global_step=None` takes the tag's next step."""
        if self._closed:
            raise ValueError("add_scalar on a closed SummaryWriter")
        value = float(scalar_value)
        wall_time = _now() if walltime is None else check_wall_time(walltime)
        steps = self._next_scalar
        if tag not in steps:
            check_name(tag, "tag")
        if global_step is None:
            with self._step_lock:
                step = steps.get(tag, 0)
                steps[tag] = step + 1
                self._put((tag, wall_time, step, value))
            return
        if type(global_step) is int and 0 <= global_step <= MAX_STEP:
            step = global_step
        else:
            step = check_step(global_step)
        steps[tag] = step + 1
        self._put((tag, wall_time, step, value))

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: dict[str, Any],
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Queue one point for each `main_tag/tag` in `tag_scalar_dict`, at one wall time."""
        check_name(main_tag, "main tag")
        wall_time = _now() if walltime is None else walltime
        for tag, value in tag_scalar_dict.items():
            self.add_scalar(f"{main_tag}/{tag}", value, global_step, wall_time)

    def add_histogram(
        self,
        tag: str,
        values: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        *,
        bins: str = "tensorflow",
    ) -> None:
        """Queue a histogram of `values` (list, numpy array, torch tensor...), TF's buckets."""
        if self._closed:
            raise ValueError("add_histogram on a closed SummaryWriter")
        if bins != "tensorflow":
            raise ValueError(f"only bins='tensorflow' is supported, got {bins!r}")
        check_name(tag, "tag")
        flat = flat_values(values)
        check_histogram_values(flat)
        wall_time = _now() if walltime is None else check_wall_time(walltime)
        with self._step_lock:
            step = self._next_histogram.get(tag, 0) if global_step is None else None
            if step is None:
                step = check_step(global_step)
            self._next_histogram[tag] = step + 1
            self._put(_Histogram(tag, wall_time, step, flat))

    def _put(self, item: Any) -> None:
        if len(self._queue) >= self.capacity and not self._wait_for_room():
            return
        self._queue.append(item)

    def _wait_for_room(self) -> bool:
        """Wait up to `block_timeout` for room; count the point as dropped and warn if none."""
        deadline = None if self.block_timeout is None else time.monotonic() + self.block_timeout
        with self._room:
            self._room_waiters += 1
            try:
                while len(self._queue) >= self.capacity:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        break
                    self._wake.set()
                    self._room.wait(remaining)
                else:
                    return True
            finally:
                self._room_waiters -= 1
        self._count_dropped(1)
        if not self._warned_full:
            self._warned_full = True
            warnings.warn(
                f"SummaryWriter queue for {self.experiment!r} is full ({self.capacity} points): "
                "dropping new points; see writer.dropped",
                DeliveryWarning,
                stacklevel=4,
            )
        return False

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every point queued before this call is delivered (or dropped).

        Returns False if `timeout` seconds passed first. With the bridge down and no timeout,
        this waits until it is back.
        """
        if self._closed:
            return True
        marker = threading.Event()
        self._queue.append(marker)
        self._wake.set()
        return marker.wait(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Deliver everything queued and stop; give up after `timeout` seconds if given.

        Points not delivered are counted in `dropped`, and a `DeliveryWarning` says how many.
        """
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self._atexit)
        self._closing = True
        self._wake.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._abandon.set()
            self._session.interrupt()
            self._thread.join(_CLOSE_GRACE)
            if self._thread.is_alive():
                with self._stats_lock:
                    if not self._finalized:
                        self._finalized = True
                        self._dropped += len(self._queue) + self._inflight
        else:
            self._session.close()
        if self.dropped:
            warnings.warn(
                f"SummaryWriter could not deliver {self.dropped} points to experiment "
                f"{self.experiment!r} at {self.url}",
                DeliveryWarning,
                stacklevel=2,
            )

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def dropped(self) -> int:
        """How many points were not delivered (queue full, refused by the bridge, gave up)."""
        return self._dropped

    @property
    def delivered(self) -> int:
        """How many points the bridge confirmed."""
        return self._delivered

    @property
    def pending(self) -> int:
        """How many points wait in the queue (not counting the batch being sent)."""
        return len(self._queue)

    @property
    def closed(self) -> bool:
        """Whether `close()` was called."""
        return self._closed

    # Set-up
    def _open_experiment(self) -> None:
        """Create the experiment, or read where each of its metrics' steps continue."""
        try:
            info = self._session.get_json("/data", self._xp)
        except CrayonError as exc:
            if exc.status != 404:
                raise
            try:
                self._session.send_json("POST", "/data", payload=self.experiment)
                return
            except CrayonError as create_exc:
                if create_exc.status != 409:  # created meanwhile by someone else
                    raise
            info = self._session.get_json("/data", self._xp)
        for kind, steps in (("scalars", self._next_scalar), ("histograms", self._next_histogram)):
            for name in info[kind]:
                rows = self._session.get_json(f"/data/{kind}", self._metric(name))
                if rows:
                    steps[name] = rows[-1][1] + 1

    def _metric(self, tag: str) -> dict[str, str]:
        return {"xp": self.experiment, "name": tag}

    # Sender thread
    def _run(self) -> None:
        queue = self._queue
        while True:
            if not queue:
                if self._closing:
                    return
                self._wake.wait(self.flush_interval)
                self._wake.clear()
                continue
            items, markers = self._take()
            if self._room_waiters:
                with self._room:
                    self._room.notify_all()
            self._inflight = len(items)
            try:
                self._deliver(items)
            except _GiveUp:
                self._count_dropped(self._inflight)
            except Exception:  # the sender must survive anything; the points are lost
                logger.exception("crayon_bridge: unexpected error sending %d points", len(items))
                self._count_dropped(self._inflight)
            self._inflight = 0
            for marker in markers:
                marker.set()

    def _take(self) -> tuple[list[Any], list[threading.Event]]:
        """Pop up to `max_batch` points, stopping after a flush marker."""
        queue = self._queue
        items: list[Any] = []
        markers: list[threading.Event] = []
        while len(items) < self.max_batch:
            try:
                item = queue.popleft()
            except IndexError:
                break
            if type(item) is threading.Event:
                markers.append(item)
                break
            items.append(item)
        return items, markers

    def _deliver(self, items: list[Any]) -> None:
        scalars = [item for item in items if type(item) is tuple]
        if scalars:
            self._deliver_scalars(scalars)
        histograms: dict[str, list[_Histogram]] = {}
        for item in items:
            if type(item) is _Histogram:
                histograms.setdefault(item.tag, []).append(item)
        for tag, tagged in histograms.items():
            self._deliver_histograms(tag, tagged)

    def _deliver_scalars(self, points: list[tuple[str, float, int, float]]) -> None:
        by_tag: dict[str, list[tuple[float, int, float]]] = {}
        for tag, wall_time, step, value in points:
            rows = by_tag.get(tag)
            if rows is None:
                rows = by_tag[tag] = []
            rows.append((wall_time, step, value))
        try:
            self._send(
                "/data/scalars", self._xp, encode_json(by_tag), lambda: self._scalars_stored(by_tag)
            )
        except CrayonError as exc:
            # Find what the bridge refuses: one tag at a time, then halves of a too big batch.
            if len(by_tag) > 1:
                for tag in by_tag:
                    self._deliver_scalars([point for point in points if point[0] == tag])
            elif exc.status == 413 and len(points) > 1:
                half = len(points) // 2
                self._deliver_scalars(points[:half])
                self._deliver_scalars(points[half:])
            else:
                self._reject(len(points), next(iter(by_tag)), exc)
            return
        self._count_delivered(len(points))

    def _deliver_histograms(self, tag: str, items: list[_Histogram]) -> None:
        """Send one tag's histograms in one request (a list of `[wall_time, step, histogram]`)."""
        body = []
        tobuild = False
        for item in items:
            histogram, tobuild = histogram_payload(item.values)
            body.append((item.wall_time, item.step, histogram))
        points = [(item.wall_time, item.step, None) for item in items]
        try:
            self._send(
                "/data/histograms",
                {**self._metric(tag), "tobuild": tobuild},
                encode_json(body),
                lambda: self._series_ends_with("histograms", tag, points),
            )
        except CrayonError as exc:
            self._reject(len(items), tag, exc)
            return
        self._count_delivered(len(items))

    def _send(self, path: str, params: dict[str, Any], body: bytes, stored: Any) -> None:
        """POST until the bridge has the body exactly once; raise CrayonError if it refuses it."""
        delay = self.min_backoff
        check = False
        while True:
            if self._abandon.is_set():
                raise _GiveUp
            try:
                if not (check and stored()):
                    check = False
                    self._session.request("POST", path, params, body, "application/json")
                self._back_up()
                return
            except CrayonConnectionError as exc:
                check = check or exc.maybe_sent
                self._down(exc)
            except CrayonError as exc:
                if not _retryable(exc.status):
                    raise
                self._down(exc)
            self._abandon.wait(delay)
            delay = min(delay * 2, self.max_backoff)

    def _scalars_stored(self, by_tag: dict[str, list[tuple[float, int, float]]]) -> bool:
        """Tell whether a batch is stored (it is all or nothing, so one tag tells)."""
        tag, points = next(iter(by_tag.items()))
        return self._series_ends_with("scalars", tag, points)

    def _series_ends_with(self, kind: str, tag: str, points: list[tuple[Any, ...]]) -> bool:
        try:
            rows = self._session.get_json(f"/data/{kind}", self._metric(tag))
        except CrayonError as exc:
            if exc.status == 404:
                return False
            raise
        return _ends_with(rows, points)

    def _down(self, exc: CrayonError) -> None:
        if self._outage is None:
            logger.warning("crayon_bridge: %s; retrying until the bridge answers", exc)
        self._outage = str(exc)

    def _back_up(self) -> None:
        if self._outage is not None:
            logger.info("crayon_bridge: the bridge at %s answers again", self.url)
            self._outage = None

    def _reject(self, count: int, tag: str, exc: CrayonError) -> None:
        logger.warning("crayon_bridge: the bridge refused %d points of %r: %s", count, tag, exc)
        self._count_dropped(count)

    def _count_dropped(self, count: int) -> None:
        with self._stats_lock:
            if not self._finalized:
                self._dropped += count
                if threading.current_thread() is self._thread:
                    self._inflight -= min(count, self._inflight)

    def _count_delivered(self, count: int) -> None:
        with self._stats_lock:
            self._delivered += count
            self._inflight -= min(count, self._inflight)


def _close_at_exit(ref: weakref.ReferenceType[SummaryWriter]) -> None:
    writer = ref()
    if writer is not None:
        writer.close(writer.exit_timeout)
