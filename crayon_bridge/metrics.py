"""Operations: request counters and latencies for `GET /metrics`, and the error log line.

The middleware runs on every request, so it costs one dict lookup, a few increments and one
bisect (about a microsecond): counts and fixed latency buckets sit in one object per matched
route and method, and everything is formatted only when Prometheus scrapes. Route labels are
the matched route's path (never the raw path), and every request that matched no route counts
as `unmatched`, so labels stay few whatever clients send.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from . import API_VERSION, __version__
from .handlers import STORE_KEY
from .store import ExperimentStore

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Upper bounds (seconds) of the latency buckets: a cached write takes well under a millisecond,
# a long read or a backup seconds.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "unmatched"
OTHER_METHOD = "other"
CLIENT_GONE = 499  # nginx's status for a request the client abandoned before the answer
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BOUNDS = (*map(repr, BUCKETS), "+Inf")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
_LOG_PATH_LIMIT = 200
_LOG_MESSAGE_LIMIT = 500
_PREFIX = "crayon_bridge_"


class _Series:
    """One route and method: answers by status, and latency counts per bucket with their sum.

    The bucket counts are not cumulative (Prometheus' are, when rendered); the last is +Inf.
    """

    __slots__ = ("counts", "method", "route", "statuses", "total")

    def __init__(self, route: str, method: str) -> None:
        self.route = route
        self.method = method
        self.statuses: dict[int, int] = {}
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0


class Metrics:
    """The bridge's counters since start; one instance per application."""

    __slots__ = ("_series", "errors")

    def __init__(self) -> None:
        # Keyed by the matched resource (a long-lived router object; None when nothing matched)
        # and the method, so a request costs one lookup and no string building.
        self._series: dict[tuple[object, str], _Series] = {}
        self.errors: dict[tuple[int, str], int] = {}

    def observe(self, request: web.Request, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        resource = request.match_info.route.resource
        method = request.method
        if method not in _METHODS:
            method = OTHER_METHOD
        series = self._series.get((resource, method))
        if series is None:
            route = UNMATCHED if resource is None else resource.canonical
            series = self._series[resource, method] = _Series(route, method)
        statuses = series.statuses
        statuses[status] = statuses.get(status, 0) + 1
        series.counts[bisect_left(BUCKETS, seconds)] += 1
        series.total += seconds

    def requests(self) -> dict[tuple[str, str, int], int]:
        """Return the answer counts by (route, method, status)."""
        return {
            (series.route, series.method, status): count
            for series in self._series.values()
            for status, count in series.statuses.items()
        }

    def count_error(self, status: int, kind: str) -> None:
        """Count one error answer by status and kind (the error's class, or `internal`)."""
        key = (status, kind)
        self.errors[key] = self.errors.get(key, 0) + 1

    def render(self, store: ExperimentStore) -> str:
        """Return every metric in Prometheus' text exposition format 0.0.4."""
        out: list[str] = []
        _family(out, "build_info", "gauge", "The bridge's version; always 1.")
        out.append(_sample("build_info", {"version": __version__, "api_version": API_VERSION}, 1))
        _family(out, "requests_total", "counter", "Requests answered, by route, method, status.")
        for (route, method, status), count in sorted(self.requests().items()):
            labels = {"route": route, "method": method, "status": str(status)}
            out.append(_sample("requests_total", labels, count))
        _family(
            out,
            "request_duration_seconds",
            "histogram",
            "Time from receiving a request to the end of its answer, by route and method.",
        )
        for series in sorted(self._series.values(), key=lambda item: (item.route, item.method)):
            labels = {"route": series.route, "method": series.method}
            _histogram(out, "request_duration_seconds", labels, series)
        _family(out, "errors_total", "counter", "Error answers, by status and kind of error.")
        for (status, kind), count in sorted(self.errors.items()):
            out.append(_sample("errors_total", {"status": str(status), "kind": kind}, count))
        totals = store.totals
        _family(out, "points_stored_total", "counter", "Scalar and histogram points stored.")
        out.append(_sample("points_stored_total", {}, totals.points))
        _family(out, "bytes_written_total", "counter", "Bytes of event records appended.")
        out.append(_sample("bytes_written_total", {}, totals.bytes))
        _family(out, "experiments", "gauge", "Experiments in the logdir.")
        out.append(_sample("experiments", {}, len(store.names())))
        out.append("")
        return "\n".join(out)


METRICS_KEY = web.AppKey("metrics", Metrics)


def _family(out: list[str], name: str, kind: str, help_text: str) -> None:
    out.append(f"# HELP {_PREFIX}{name} {_escape_help(help_text)}")
    out.append(f"# TYPE {_PREFIX}{name} {kind}")


def _histogram(out: list[str], name: str, labels: dict[str, str], series: _Series) -> None:
    cumulative = 0
    for bound, count in zip(_BOUNDS, series.counts, strict=True):
        cumulative += count
        out.append(_sample(f"{name}_bucket", {**labels, "le": bound}, cumulative))
    out.append(_sample(f"{name}_sum", labels, series.total))
    out.append(_sample(f"{name}_count", labels, cumulative))


def _sample(name: str, labels: dict[str, str], value: float) -> str:
    if not labels:
        return f"{_PREFIX}{name} {value!r}"
    text = ",".join(f'{key}="{escape_label_value(item)}"' for key, item in labels.items())
    return f"{_PREFIX}{name}{{{text}}} {value!r}"


def escape_label_value(value: str) -> str:
    """Escape a label value as the text format requires: backslash, double quote, newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _logfmt_value(value: object) -> str:
    text = str(value)
    if text and text.isprintable() and not any(c in text for c in ' ="\\'):
        return text
    quoted = json.dumps(text, ensure_ascii=False)
    if not quoted.isprintable():  # U+2028, NEL, lone surrogates: keep one line, valid UTF-8
        quoted = "".join(c if c.isprintable() else json.dumps(c)[1:-1] for c in quoted)
    return quoted


def logfmt(event: str, fields: Iterable[tuple[str, object]]) -> str:
    """Return `event key=value ...`, quoting (JSON-style) values with spaces or odd characters."""
    return " ".join([event, *(f"{key}={_logfmt_value(value)}" for key, value in fields)])


def error_log_line(
    request: web.Request, status: int, kind: str, message: str, seconds: float
) -> str:
    """Return the one log line of an error answer: enough to find the request and act on it."""
    return logfmt(
        "request_error",
        (
            ("method", request.method),
            ("path", _clip(request.raw_path, _LOG_PATH_LIMIT)),
            ("status", status),
            ("kind", kind),
            ("remote", request.remote or "-"),
            ("ms", f"{seconds * 1000:.1f}"),
            ("message", _clip(message, _LOG_MESSAGE_LIMIT)),
        ),
    )


async def get_metrics(request: web.Request) -> web.Response:
    """`GET /metrics`: the counters in Prometheus' text format."""
    text = request.app[METRICS_KEY].render(request.app[STORE_KEY])
    return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE})
