"""Limits (413 when passed, from the config and from the CLI) and hostile HTTP framing."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
import requests
from hostile_support import JSON_HEADERS, assert_api_error, make_zip, raw_http, seed
from hostile_zips import EVENTS, GOOD_RECORD, many_entries

from crayon_bridge.backup import ArchiveLimits
from crayon_bridge.params import Limits


def points(count: int) -> list[list[float]]:
    """Return `count` good scalar points."""
    return [[1.0 + i, i, 0.5] for i in range(count)]


async def test_batch_limits_are_413(make_client, logdir: Path) -> None:
    """Points per request are capped for every batch shape; at the limit all is stored."""
    client = await make_client(limits=Limits(max_batch_points=20, max_histogram_values=5))
    seeded = await seed(client, logdir)
    cases = [
        ("/data/scalars?xp=base&name=loss", points(21), "21 points", "at most 20"),
        ("/data/scalars?xp=base", {"a": points(11), "b": points(10)}, "21 points", "at most 20"),
        (
            "/data/histograms?xp=base&name=weights",
            [[1.0, i, [1.0]] for i in range(21)],
            "21 points",
            "at most 20",
        ),
        ("/data/histograms?xp=base&name=weights", [1.0, 0, [1.0] * 6], "6 values", "at most 5"),
    ]
    for path, body, *fragments in cases:
        resp = await client.post(path, data=json.dumps(body), headers=JSON_HEADERS)
        await assert_api_error(resp, 413, *fragments)
        await seeded.assert_unchanged()
    resp = await client.post("/data/scalars?xp=base&name=new", data=json.dumps(points(20)))
    assert resp.status == 200, await resp.text()
    resp = await client.get("/data/scalars?xp=base&name=new")
    assert len(await resp.json()) == 20


async def test_body_over_the_limit_is_413(make_client, logdir: Path) -> None:
    """A body over `max_body_bytes` is a 413 on every JSON route, also when gzip hides its size."""
    client = await make_client(max_body_bytes=64 << 10)
    seeded = await seed(client, logdir)
    big = json.dumps(points(5000)).encode()
    assert len(big) > 64 << 10
    for path in ("/data", "/data/scalars?xp=base&name=loss", "/data/histograms?xp=base&name=h"):
        resp = await client.post(path, data=io.BytesIO(big), headers=JSON_HEADERS)
        await assert_api_error(resp, 413, "65536")
        resp = await client.post(
            path,
            data=gzip.compress(big),
            headers={**JSON_HEADERS, "Content-Encoding": "gzip"},
        )
        await assert_api_error(resp, 413, "65536")
    await seeded.assert_unchanged()


async def test_get_with_a_body_ignores_it(seeded) -> None:
    """A body on a GET changes nothing: the answer is the same as without it."""
    for path, answer in (
        ("/data", seeded.api["/data"]),
        ("/data/scalars?xp=base&name=loss", seeded.api["scalars base loss"]),
    ):
        resp = await seeded.client.request("GET", path, data=b'"delete everything"')
        assert resp.status == 200
        body = await resp.read()
        assert body == answer or json.loads(body) == answer
    await seeded.assert_unchanged()


# Request heads (each header line ends in CRLF; Connection: close and the blank line are added)
# and bodies that break HTTP itself.
RAW_REQUESTS = {
    "raw-ff-in-query": (b"GET /data?xp=\xff HTTP/1.1\r\n", b""),
    "raw-ff-in-path": (b"GET /da\xffta HTTP/1.1\r\n", b""),
    "raw-nul-in-query": (b"GET /data?xp=\x00 HTTP/1.1\r\n", b""),
    "bad-chunk-size": (b"POST /data HTTP/1.1\r\nTransfer-Encoding: chunked\r\n", b"zz\r\n"),
    "negative-length": (b"POST /data HTTP/1.1\r\nContent-Length: -1\r\n", b""),
    "length-and-chunked": (
        b"POST /data HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n",
        b"0\r\n\r\n",
    ),
    "not-http": (b"HELLO\r\n", b""),
    "huge-header": (b"GET / HTTP/1.1\r\nX-A: " + b"a" * 20_000 + b"\r\n", b""),
    "huge-url": (b"GET /data?xp=" + b"a" * 10_000 + b" HTTP/1.1\r\n", b""),
    "dotdot-path": (b"GET /../../etc/passwd HTTP/1.1\r\n", b""),
    "encoded-dotdot-path": (b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\n", b""),
    "double-slash": (b"GET //data HTTP/1.1\r\n", b""),
    "asterisk": (b"OPTIONS * HTTP/1.1\r\n", b""),
    "connect": (b"CONNECT example.com:80 HTTP/1.1\r\n", b""),
    "brotli-body": (
        b"POST /data HTTP/1.1\r\nContent-Encoding: br\r\nContent-Length: 4\r\n",
        b"junk",
    ),
    "backup-gzip-junk": (
        b"POST /backup?xp=base&force=true HTTP/1.1\r\nContent-Encoding: gzip\r\n"
        b"Content-Length: 4\r\n",
        b"junk",
    ),
}


@pytest.mark.parametrize("head,body", RAW_REQUESTS.values(), ids=RAW_REQUESTS.keys())
async def test_malformed_http_is_a_4xx(seeded, head: bytes, body: bytes) -> None:
    """Requests that break HTTP itself are answered 4xx by the server, never 5xx or a hang."""
    request = head + b"Host: x\r\nConnection: close\r\n\r\n" + body
    status, answer = await raw_http(seeded.client, request)
    assert 400 <= status < 500, answer
    await seeded.assert_unchanged()


async def test_undecodable_json_body_is_a_400(seeded) -> None:
    """A body whose Content-Encoding does not decode is the client's error."""
    resp = await seeded.client.post(
        "/data/scalars?xp=base&name=loss",
        data=b"junk",
        headers={**JSON_HEADERS, "Content-Encoding": "gzip"},
    )
    await assert_api_error(resp, 400, "content-encoding")
    await seeded.assert_unchanged()


@pytest.mark.e2e
def test_cli_limits_reach_the_bridge(server_factory) -> None:
    """Every limit flag of the CLI is enforced with a 413 by a real bridge process."""
    server = server_factory(
        "--max-batch-points",
        "3",
        "--max-body-mb",
        "1",
        "--max-upload-mb",
        "1",
        "--max-archive-entries",
        "5",
        "--max-unpacked-mb",
        "1",
        "--max-metric-name-bytes",
        "8",
        "--max-histogram-values",
        "4",
    )
    url = server.url
    assert requests.post(url + "/data", json="xp", timeout=30).status_code == 200
    resp = requests.post(url + "/data/scalars?xp=xp&name=m", json=points(4), timeout=30)
    assert resp.status_code == 413 and "at most 3" in resp.text
    resp = requests.post(url + "/data/scalars?xp=xp&name=m", data=b" " * (2 << 20), timeout=30)
    assert resp.status_code == 413
    restore = url + "/backup?xp=xp&force=true"
    resp = requests.post(restore, data=b"PK" + bytes(2 << 20), timeout=30)
    assert resp.status_code == 413 and "upload limit" in resp.text
    resp = requests.post(restore, data=many_entries(6), timeout=30)
    assert resp.status_code == 413 and "at most 5" in resp.text
    big = make_zip([(EVENTS, GOOD_RECORD * ((1 << 20) // len(GOOD_RECORD) + 1))])
    resp = requests.post(restore, data=big, timeout=30)
    assert resp.status_code == 413 and f"at most {1 << 20}" in resp.text
    resp = requests.post(url + "/data/scalars?xp=xp&name=123456789", json=points(1)[0], timeout=30)
    assert resp.status_code == 413 and "at most 8" in resp.text
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    resp = requests.post(url + "/data/histograms?xp=xp&name=h", json=[1, 0, values], timeout=30)
    assert resp.status_code == 413 and "at most 4" in resp.text
    resp = requests.get(url + "/data?xp=xp", timeout=30)
    assert resp.json() == {"scalars": [], "histograms": []}


def test_default_limits_are_sane() -> None:
    """Defaults: backups get a larger limit than JSON bodies; every cap is set."""
    from crayon_bridge.config import Config

    config = Config(logdir=Path("unused"))
    archive = ArchiveLimits()
    assert config.max_body_bytes < archive.max_upload_bytes <= archive.max_unpacked_bytes
    assert Limits().max_batch_points > 0 and 0 < archive.max_entries <= 100_000
