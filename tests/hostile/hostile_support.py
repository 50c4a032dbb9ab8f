"""Helpers of the hostile-input suite: seeding data, snapshots of it, and error assertions."""

from __future__ import annotations

import asyncio
import io
import json
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

STAGING = ".crayon-bridge"
JSON_HEADERS = {"Content-Type": "application/json"}

# What `seed` logs: experiment -> scalar metric -> JSON body of one batch POST.
SEED_SCALARS = {
    "base": {
        "loss": "[[1.5, 0, 0.25], [2.5, 1, NaN], [3.5, 2, -Infinity]]",
        "acc/top1": "[4.5, 3, 0.75]",
    },
    "second ~ $HOME": {"loss": "[[1.0, 0, 1.0]]"},
}
SEED_HISTOGRAMS = {
    "base": {
        "weights": [
            ("true", "[5.5, 0, [1.0, 2.0, 3.0]]"),
            (
                "false",
                '[6.5, 1, {"min": 0, "max": 2, "num": 3, "bucket_limit": [1, 2], '
                '"bucket": [1, 2]}]',
            ),
        ]
    }
}


def q(value: str) -> str:
    """Percent-encode a query value completely (as `quote_plus` clients do, without the plus)."""
    return quote(value, safe="")


async def assert_api_error(resp: ClientResponse, status: int, *fragments: str) -> str:
    """Assert an error answer: `status`, a plain-text message holding every fragment."""
    text = await resp.text()
    assert resp.status == status, f"expected {status}, got {resp.status}: {text[:500]!r}"
    assert text.strip(), "the error answer has no message"
    assert "Traceback" not in text
    if resp.status < 500 and resp.status not in (404, 405):
        assert resp.content_type == "text/plain", resp.content_type
    for fragment in fragments:
        assert fragment.lower() in text.lower(), f"{fragment!r} not in message {text!r}"
    return text


def disk_state(logdir: Path) -> dict[str, bytes]:
    """Return every file under `logdir` (relative path -> bytes), the staging area included."""
    return {
        str(path.relative_to(logdir)): path.read_bytes()
        for path in sorted(logdir.rglob("*"))
        if path.is_file()
    }


def staging_leftovers(logdir: Path) -> list[str]:
    """Return what lies in the bridge's staging area (it must be empty between requests)."""
    staging = logdir / STAGING
    return sorted(str(p.relative_to(staging)) for p in staging.rglob("*"))


async def api_state(client: TestClient) -> dict[str, object]:
    """Return the answers of every GET over every experiment and metric the bridge lists."""
    state: dict[str, object] = {}
    resp = await client.get("/data")
    assert resp.status == 200, await resp.text()
    names = await resp.json()
    state["/data"] = names
    for name in names:
        resp = await client.get(f"/data?xp={q(name)}")
        assert resp.status == 200, await resp.text()
        info = await resp.json()
        state[f"info {name}"] = info
        for kind in ("scalars", "histograms"):
            for metric in info[kind]:
                resp = await client.get(f"/data/{kind}?xp={q(name)}&name={q(metric)}")
                assert resp.status == 200, await resp.text()
                state[f"{kind} {name} {metric}"] = await resp.read()
    return state


@dataclass
class Seeded:
    """A bridge holding known data, and the state it must keep through a hostile request."""

    client: TestClient
    logdir: Path
    api: dict[str, object] = field(default_factory=dict)
    disk: dict[str, bytes] = field(default_factory=dict)

    async def remember(self) -> None:
        """Record the current API answers and files as the state to keep."""
        self.api = await api_state(self.client)
        self.disk = disk_state(self.logdir)

    async def assert_unchanged(self) -> None:
        """Assert every GET answers as before and every file holds the same bytes."""
        assert staging_leftovers(self.logdir) == []
        assert await api_state(self.client) == self.api
        now = disk_state(self.logdir)
        assert sorted(now) == sorted(self.disk), "files were added or removed"
        for name, data in self.disk.items():
            assert now[name] == data, f"{name} changed"

    async def backup(self, name: str = "base") -> bytes:
        """Return the `GET /backup` zip of an experiment."""
        resp = await self.client.get(f"/backup?xp={q(name)}")
        assert resp.status == 200, await resp.text()
        return await resp.read()


async def post_ok(client: TestClient, path: str, body: str | bytes) -> None:
    """POST a JSON body and assert a 200."""
    resp = await client.post(path, data=body, headers=JSON_HEADERS)
    assert resp.status == 200, await resp.text()


async def seed(client: TestClient, logdir: Path) -> Seeded:
    """Log the `SEED_*` data and return it remembered."""
    for name in SEED_SCALARS:
        await post_ok(client, "/data", json.dumps(name))
    for name, metrics in SEED_SCALARS.items():
        for metric, body in metrics.items():
            await post_ok(client, f"/data/scalars?xp={q(name)}&name={q(metric)}", body)
    for name, metrics in SEED_HISTOGRAMS.items():
        for metric, bodies in metrics.items():
            for tobuild, body in bodies:
                path = f"/data/histograms?xp={q(name)}&name={q(metric)}&tobuild={tobuild}"
                await post_ok(client, path, body)
    seeded = Seeded(client, logdir)
    await seeded.remember()
    return seeded


async def raw_http(client: TestClient, request: bytes, timeout: float = 10.0) -> tuple[int, bytes]:
    """Send raw bytes to the test server; return the status and body of the answer."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, body


def make_zip(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    """Return a zip holding `entries` (name or ZipInfo, data), deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return buffer.getvalue()


def deflated_zeros(prefix: bytes, mib: int) -> tuple[bytes, int, int]:
    """Return `(raw deflate stream, crc32, size)` of `prefix` then `mib` MiB of zeros, fast.

    After a full flush deflate starts afresh, so every MiB of zeros compresses to the same
    bytes: the stream is built from one compressed MiB, without compressing a GiB.
    """
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    zeros = bytes(1 << 20)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream = head + block * mib + compressor.flush()
    crc = zlib.crc32(prefix)
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    return stream, crc, len(prefix) + (mib << 20)


def handmade_zip(
    name: str, stream: bytes, crc: int, size: int, declared_size: int | None = None
) -> bytes:
    """Return a one-entry zip of a raw deflate `stream`, its headers stating `declared_size`."""
    declared = size if declared_size is None else declared_size
    encoded = name.encode()
    common = struct.pack("<HHHHHLLLHH", 20, 0, 8, 0, 0, crc, len(stream), declared, len(encoded), 0)
    local = b"PK\x03\x04" + common + encoded
    central = (
        b"PK\x01\x02"
        + struct.pack("<H", 20)
        + common
        + struct.pack("<HHHLL", 0, 0, 0, (stat.S_IFREG | 0o644) << 16, 0)
        + encoded
    )
    offset = len(local) + len(stream)
    end = b"PK\x05\x06" + struct.pack("<HHHHLLH", 0, 0, 1, 1, len(central), offset, 0)
    return local + stream + central + end
