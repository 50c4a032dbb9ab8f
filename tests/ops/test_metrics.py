"""`GET /metrics` (Prometheus text format) and the one structured log line per error."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiohttp import web

from crayon_bridge.app import ROUTES, create_app
from crayon_bridge.config import Config
from crayon_bridge.metrics import (
    BUCKETS,
    CONTENT_TYPE,
    METRICS_KEY,
    UNMATCHED,
    Metrics,
    escape_label_value,
    logfmt,
)
from crayon_bridge.store import ExperimentStore

TOKEN = "s3cret"
PREFIX = "crayon_bridge_"

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}

Labels = tuple[tuple[str, str], ...]


def parse(text: str) -> tuple[dict[tuple[str, Labels], float], dict[str, str]]:
    """Parse the text format strictly: every sample's family has HELP and TYPE before it."""
    samples: dict[tuple[str, Labels], float] = {}
    types: dict[str, str] = {}
    helped: set[str] = set()
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split(" ", 3)[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "histogram"), line
            types[name] = kind
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        name, label_text, value = match.groups()
        labels: list[tuple[str, str]] = []
        rest = label_text or ""
        while rest:
            label = _LABEL.match(rest)
            assert label, f"bad labels in {line!r}"
            raw = re.sub(r'\\[\\"n]', lambda m: _UNESCAPE[m.group(0)], label.group(2))
            labels.append((label.group(1), raw))
            rest = rest[label.end() :]
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        family = family if family in types else name
        assert family in types and family in helped, f"{name} has no TYPE/HELP before it"
        key = (name, tuple(labels))
        assert key not in samples, f"duplicate sample {key}"
        samples[key] = float(value)
    return samples, types


def value(samples, name: str, **labels: str) -> float:
    """Return one sample's value, 0 when absent (a counter not yet incremented)."""
    for (sample_name, sample_labels), number in samples.items():
        if sample_name == PREFIX + name and dict(sample_labels) == labels:
            return number
    return 0.0


def labelled(samples, name: str) -> list[dict[str, str]]:
    return [dict(labels) for sample_name, labels in samples if sample_name == PREFIX + name]


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    return tmp_path / "logdir"


@pytest.fixture
async def client(aiohttp_client, logdir):
    return await aiohttp_client(create_app(Config(logdir=logdir)))


async def scrape(client) -> dict[tuple[str, Labels], float]:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == CONTENT_TYPE
    samples, _ = parse(await response.text())
    return samples


async def test_metrics_is_valid_text_format_with_every_family(client):
    response = await client.get("/metrics")
    samples, types = parse(await response.text())
    assert types == {
        PREFIX + "build_info": "gauge",
        PREFIX + "requests_total": "counter",
        PREFIX + "request_duration_seconds": "histogram",
        PREFIX + "errors_total": "counter",
        PREFIX + "points_stored_total": "counter",
        PREFIX + "bytes_written_total": "counter",
        PREFIX + "experiments": "gauge",
    }
    assert value(samples, "points_stored_total") == 0
    assert value(samples, "experiments") == 0


async def test_request_and_error_counters_increase(client):
    await client.post("/data", json="exp")
    before = await scrape(client)
    for step in range(3):
        assert (
            await client.post("/data/scalars?xp=exp&name=loss", json=[1.0, step, 0.5])
        ).status == 200
    assert (await client.post("/data/scalars?xp=exp&name=loss", json=[1.0, -1, 0.5])).status == 400
    assert (await client.get("/data/scalars?xp=nope&name=loss")).status == 404
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    ok = {"route": "/data/scalars", "method": "POST", "status": "200"}
    assert delta("requests_total", **ok) == 3
    assert delta("requests_total", **{**ok, "status": "400"}) == 1
    assert delta("requests_total", route="/data/scalars", method="GET", status="404") == 1
    assert delta("requests_total", route="/metrics", method="GET", status="200") == 1
    assert delta("errors_total", status="400", kind="BadRequest") == 1
    assert delta("errors_total", status="404", kind="NotFound") == 1
    latency = {"route": "/data/scalars", "method": "POST"}
    assert delta("request_duration_seconds_count", **latency) == 4
    assert delta("request_duration_seconds_sum", **latency) > 0
    assert value(after, "experiments") == 1


async def test_points_stored_and_bytes_written_match_the_event_files(client, logdir):
    await client.post("/data", json="exp")
    before = await scrape(client)
    size_before = sum(path.stat().st_size for path in (logdir / "exp").iterdir())
    await client.post("/data/scalars?xp=exp&name=loss", json=[[1.0, 0, 0.5], [1.0, 1, 0.25]])
    await client.post("/data/scalars?xp=exp", json={"a": [[1.0, 0, 1.0]], "b/c": [[1.0, 0, 2.0]]})
    await client.post("/data/histograms?xp=exp&name=h&tobuild=true", json=[1.0, 0, [1, 2, 3]])
    await client.post("/data/scalars?xp=exp&name=loss", json=[1.0, "bad", 0.5])  # stores nothing
    after = await scrape(client)
    size_after = sum(path.stat().st_size for path in (logdir / "exp").iterdir())
    assert value(after, "points_stored_total") - value(before, "points_stored_total") == 5
    written = value(after, "bytes_written_total") - value(before, "bytes_written_total")
    assert written == size_after - size_before > 0


async def test_latency_histogram_buckets_are_cumulative_and_end_at_count(client):
    for _ in range(5):
        await client.get("/")
    await client.get("/no/such/path")
    samples = await scrape(client)
    series = {
        (labels["route"], labels["method"])
        for labels in labelled(samples, "request_duration_seconds_count")
    }
    assert ("/", "GET") in series and (UNMATCHED, "GET") in series
    for route, method in series:
        counts = [
            value(samples, "request_duration_seconds_bucket", route=route, method=method, le=le)
            for le in (*map(repr, BUCKETS), "+Inf")
        ]
        assert counts == sorted(counts), (route, method, counts)
        total = value(samples, "request_duration_seconds_count", route=route, method=method)
        assert counts[-1] == total > 0
        assert value(samples, "request_duration_seconds_sum", route=route, method=method) >= 0
    assert value(samples, "request_duration_seconds_count", route="/", method="GET") == 5


async def test_route_labels_stay_bounded_whatever_the_paths(client):
    for i in range(60):
        assert (await client.get(f"/nothing/{i}/x%20y?q={i}")).status == 404
    assert (await client.put("/data")).status == 405  # a known path, but no such route
    assert (await client.request("PROPFIND", "/data")).status == 405
    samples = await scrape(client)
    routes = {labels["route"] for labels in labelled(samples, "requests_total")}
    known = {route.path for route in ROUTES} | {"/metrics", "/openapi.json"}
    assert routes <= known | {UNMATCHED}
    assert value(samples, "requests_total", route=UNMATCHED, method="GET", status="404") == 60
    assert value(samples, "requests_total", route=UNMATCHED, method="PUT", status="405") == 1
    assert value(samples, "requests_total", route=UNMATCHED, method="other", status="405") == 1
    assert value(samples, "errors_total", status="404", kind="HTTPNotFound") == 60


def test_label_values_are_escaped(tmp_path):
    assert escape_label_value('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    metrics = Metrics()
    odd = 'we"ird\\route\nname'
    resource = type("Resource", (), {"canonical": odd})()  # hashable, as router resources are
    request = SimpleNamespace(match_info=SimpleNamespace(route=SimpleNamespace(resource=resource)))
    request.method = "GET"
    metrics.observe(request, 200, 0.001)
    metrics.observe(request, 200, 0.002)
    store = ExperimentStore(tmp_path)
    store.open()
    try:
        samples, _ = parse(metrics.render(store))
    finally:
        store.close()
    assert value(samples, "requests_total", route=odd, method="GET", status="200") == 2


async def test_metrics_needs_the_token_when_one_is_set(aiohttp_client, logdir):
    client = await aiohttp_client(create_app(Config(logdir=logdir, token=TOKEN)))
    assert (await client.get("/metrics")).status == 401
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status == 200
    samples, _ = parse(await response.text())
    assert value(samples, "errors_total", status="401", kind="Unauthorized") == 1


# The error log line.

_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def fields(line: str) -> dict[str, str]:
    """Parse a logfmt line back into its fields."""
    event, _, rest = line.partition(" ")
    parsed = {"event": event}
    for key, raw in _FIELD.findall(rest):
        parsed[key] = json.loads(raw) if raw.startswith('"') else raw
    return parsed


def error_lines(caplog) -> list[dict[str, str]]:
    return [
        fields(record.getMessage())
        for record in caplog.records
        if record.name == "crayon_bridge.app" and record.getMessage().startswith("request_error")
    ]


async def test_one_structured_line_per_client_error(client, caplog):
    caplog.set_level(logging.WARNING, logger="crayon_bridge")
    await client.post("/data", json="exp")
    long_name = "n" * 500
    response = await client.post(f"/data/scalars?xp=exp&name={long_name}", json=[1.0, 0.5, 1.0])
    assert response.status == 400
    (line,) = error_lines(caplog)
    assert line["event"] == "request_error"
    assert line["method"] == "POST"
    assert line["path"].startswith("/data/scalars?xp=exp&name=nnn")
    assert line["path"].endswith("...") and len(line["path"]) <= 200  # clipped
    assert line["status"] == "400"
    assert line["kind"] == "BadRequest"
    assert line["remote"] == "127.0.0.1"
    assert float(line["ms"]) >= 0
    assert line["message"] == await response.text()
    (record,) = [r for r in caplog.records if r.getMessage().startswith("request_error")]
    assert record.levelno == logging.WARNING


async def test_unmatched_paths_and_methods_log_one_line_each(client, caplog):
    caplog.set_level(logging.WARNING, logger="crayon_bridge")
    await client.get("/nope")
    await client.delete("/backup?xp=1")
    lines = error_lines(caplog)
    assert [(line["status"], line["kind"]) for line in lines] == [
        ("404", "HTTPNotFound"),
        ("405", "HTTPMethodNotAllowed"),
    ]
    assert lines[1]["path"] == "/backup?xp=1"


async def test_internal_error_logs_one_line_with_traceback_and_counts(
    aiohttp_client, logdir, caplog
):
    app = create_app(Config(logdir=logdir))

    async def broken(request: web.Request) -> web.Response:
        raise ZeroDivisionError("boom")

    app.router.add_get("/broken", broken)
    client = await aiohttp_client(app)
    caplog.set_level(logging.WARNING, logger="crayon_bridge")
    response = await client.get("/broken?x=1")
    assert response.status == 500
    assert "boom" not in await response.text()  # no internals in the answer
    (line,) = error_lines(caplog)
    assert (line["status"], line["kind"], line["path"]) == ("500", "internal", "/broken?x=1")
    assert "ZeroDivisionError" in line["message"]
    (record,) = [r for r in caplog.records if r.getMessage().startswith("request_error")]
    assert record.levelno == logging.ERROR and record.exc_info is not None
    counters = app[METRICS_KEY]
    assert counters.errors[500, "internal"] == 1
    assert counters.requests()["/broken", "GET", 500] == 1


def test_logfmt_quotes_only_what_needs_it():
    line = logfmt(
        "ev", [("a", "plain"), ("b", "two words"), ("c", 'q"uote'), ("d", ""), ("e", "x\ny")]
    )
    assert line == 'ev a=plain b="two words" c="q\\"uote" d="" e="x\\ny"'
    assert fields(line) == {
        "event": "ev",
        "a": "plain",
        "b": "two words",
        "c": 'q"uote',
        "d": "",
        "e": "x\ny",
    }


def test_logfmt_keeps_one_line_of_valid_utf8_whatever_the_text():
    odd = "a\u2028b\x85c\ud800d\U000e0001日本"
    line = logfmt("ev", [("message", odd)])
    assert len(line.splitlines()) == 1
    line.encode("utf-8")  # no lone surrogate left
    assert "日本" in line
    assert fields(line)["message"] == odd
