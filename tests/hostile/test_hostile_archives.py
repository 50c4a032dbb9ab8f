"""Hostile backups: zip-slip, links, devices, junk, damaged and lying archives, zip bombs.

Every hostile archive is restored with force over the good experiment `base`: the answer is a
4xx naming the problem, `base` answers and holds exactly what it did, and nothing is left behind.
"""

from __future__ import annotations

import gzip
import io
import random
import struct
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import FormData
from hostile_support import (
    Seeded,
    assert_api_error,
    deflated_zeros,
    handmade_zip,
    make_zip,
    q,
    seed,
    staging_leftovers,
)
from hostile_zips import (
    EVENTS,
    GOOD_RECORD,
    HOSTILE_ARCHIVES,
    RESTORE,
    entry,
    many_entries,
    with_good,
)

from crayon_bridge import tfrecord
from crayon_bridge.backup import ArchiveLimits, _directory_size, unpack_archive
from crayon_bridge.errors import ApiError


@pytest.mark.parametrize(
    "build,status,fragments", HOSTILE_ARCHIVES.values(), ids=HOSTILE_ARCHIVES.keys()
)
async def test_hostile_archive_leaves_experiment_as_it_was(
    seeded: Seeded,
    build: Callable[[], bytes],
    status: int,
    fragments: tuple[str, ...],
) -> None:
    """A hostile archive restored over `base` is refused; `base` is untouched, nothing is left."""
    resp = await seeded.client.post(
        RESTORE, data=build(), headers={"Content-Type": "application/zip"}
    )
    await assert_api_error(resp, status, *fragments)
    await seeded.assert_unchanged()


async def test_hostile_archive_as_multipart_is_refused_the_same(seeded: Seeded) -> None:
    """pycrayon's multipart upload goes through the same checks."""
    form = FormData()
    form.add_field("mysubmit", "Go")
    form.add_field("archive", with_good(("../x.tfevents", GOOD_RECORD)), filename="backup.zip")
    resp = await seeded.client.post(RESTORE, data=form)
    await assert_api_error(resp, 400, "'..'")
    await seeded.assert_unchanged()


MULTIPART_CASES = {
    "no-archive-field": (
        "multipart/form-data; boundary=xyz",
        b'--xyz\r\nContent-Disposition: form-data; name="other"\r\n\r\nx\r\n--xyz--\r\n',
        400,
        ("no field named 'archive'",),
    ),
    "no-boundary": ("multipart/form-data", b"junk", 400, ("could not be read", "boundary")),
    "no-starting-boundary": (
        "multipart/form-data; boundary=xyz",
        b"junk",
        400,
        ("could not be read",),
    ),
    "unterminated-part": (
        "multipart/form-data; boundary=xyz",
        b'--xyz\r\nContent-Disposition: form-data; name="archive"\r\n\r\nPK',
        400,
        ("not a readable zip",),
    ),
    "bad-transfer-encoding": (
        "multipart/form-data; boundary=xyz",
        b'--xyz\r\nContent-Disposition: form-data; name="archive"\r\n'
        b"Content-Encoding: br\r\n\r\nPK\r\n--xyz--\r\n",
        415,
        ("Content-Encoding", "'br'"),
    ),
}


@pytest.mark.parametrize(
    "content_type,body,status,fragments", MULTIPART_CASES.values(), ids=MULTIPART_CASES.keys()
)
async def test_malformed_multipart_is_refused(
    seeded: Seeded, content_type: str, body: bytes, status: int, fragments: tuple[str, ...]
) -> None:
    """A malformed multipart body is a 4xx that says what to send, never a 500."""
    resp = await seeded.client.post(RESTORE, data=body, headers={"Content-Type": content_type})
    await assert_api_error(resp, status, *fragments)
    await seeded.assert_unchanged()


@pytest.mark.parametrize(
    "encoding,compress",
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("GZip ", gzip.compress)],
    ids=["gzip", "deflate", "gzip-spelled-oddly"],
)
async def test_compressed_upload_is_refused(
    seeded: Seeded, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    """A compressed Content-Encoding is refused (a gzip bomb would otherwise fill the disk)."""
    resp = await seeded.client.post(
        RESTORE,
        data=compress(await seeded.backup()),
        headers={"Content-Type": "application/zip", "Content-Encoding": encoding},
    )
    await assert_api_error(resp, 415, "Content-Encoding", "compressed already")
    await seeded.assert_unchanged()


async def test_restore_without_force_is_refused(seeded: Seeded) -> None:
    """Restoring needs force=true, over an existing experiment and for a new one."""
    backup = await seeded.backup()
    for target in ("/backup?xp=base", "/backup?xp=fresh", "/backup?xp=base&force=0"):
        resp = await seeded.client.post(target, data=backup)
        await assert_api_error(resp, 400, "force=true")
    await seeded.assert_unchanged()


@pytest.fixture
def bomb_zip() -> bytes:
    """One event-file entry of 1 GiB of zeros, deflated to about 1 MiB."""
    return handmade_zip(EVENTS, *deflated_zeros(b"", 1024))


async def test_zip_bomb_is_refused_fast(seeded: Seeded, bomb_zip: bytes) -> None:
    """1 GiB of zeros stops at its first record, within seconds, having written almost nothing."""
    started = time.monotonic()
    resp = await seeded.client.post(RESTORE, data=io.BytesIO(bomb_zip))
    await assert_api_error(resp, 400, "not a TensorBoard event file", "checksum")
    assert time.monotonic() - started < 10
    await seeded.assert_unchanged()


async def test_zip_bomb_of_valid_records_is_refused_fast(make_client, logdir: Path) -> None:
    """A 300 MiB valid record is refused by its stated size, or by a CRC error if that lies."""
    client = await make_client(archive_limits=ArchiveLimits(max_unpacked_bytes=8 << 20))
    seeded = await seed(client, logdir)
    header = struct.pack("<Q", (300 << 20) - 16)
    header += struct.pack("<I", tfrecord.masked_crc32c(header))
    stream, crc, size = deflated_zeros(header, 300)
    for declared, status, fragment in ((size, 413, "at most 8388608"), (1000, 400, "CRC")):
        started = time.monotonic()
        body = io.BytesIO(handmade_zip(EVENTS, stream, crc, size, declared))
        resp = await client.post(RESTORE, data=body)
        await assert_api_error(resp, status, fragment)
        assert time.monotonic() - started < 10
        await seeded.assert_unchanged()


async def test_upload_over_the_limit_is_refused(make_client, logdir: Path) -> None:
    """An upload over the limit is a 413, with or without a Content-Length, and leaves nothing."""
    client = await make_client(archive_limits=ArchiveLimits(max_upload_bytes=64 << 10))
    seeded = await seed(client, logdir)
    big = b"PK" + bytes(100 << 10)
    resp = await client.post(RESTORE, data=big)
    await assert_api_error(resp, 413, "upload limit of 65536 bytes")

    async def chunks():
        for _ in range(10):
            yield bytes(16 << 10)

    resp = await client.post(RESTORE, data=chunks())
    await assert_api_error(resp, 413, "upload limit")
    await seeded.assert_unchanged()


async def test_unpacked_size_over_the_limit_is_refused(make_client, logdir: Path) -> None:
    """An archive unpacking to more than the cap is a 413 before anything is written."""
    client = await make_client(archive_limits=ArchiveLimits(max_unpacked_bytes=1000))
    seeded = await seed(client, logdir)
    resp = await client.post(RESTORE, data=with_good(("b/" + EVENTS + "2", GOOD_RECORD * 50)))
    await assert_api_error(resp, 413, "at most 1000")
    await seeded.assert_unchanged()


async def test_entry_count_is_capped_before_parsing(make_client, logdir: Path) -> None:
    """The end record's entry count and directory size are checked before zipfile parses it."""
    client = await make_client(archive_limits=ArchiveLimits(max_entries=10))
    seeded = await seed(client, logdir)
    resp = await client.post(RESTORE, data=many_entries(11))
    await assert_api_error(resp, 413, "11 entries", "at most 10")
    # An end record that understates the count: the directory's size still gives it away.
    data = bytearray(many_entries(2000))
    end = data.rindex(b"PK\x05\x06")
    data[end + 8 : end + 12] = struct.pack("<HH", 1, 1)
    resp = await client.post(RESTORE, data=bytes(data))
    await assert_api_error(resp, 413, "central directory", "at most 10 entries")
    await seeded.assert_unchanged()


async def test_good_backup_restores_raw_and_multipart(seeded: Seeded) -> None:
    """The control case: a real backup restores, as a raw body and as pycrayon's multipart."""
    client = seeded.client
    backup = await seeded.backup()
    resp = await client.post("/backup?xp=raw%20copy&force=true", data=backup)
    assert resp.status == 200, await resp.text()
    form = FormData()
    form.add_field("archive", backup, filename="backup.zip", content_type="application/zip")
    resp = await client.post("/backup?xp=multipart&force=True", data=form)
    assert resp.status == 200, await resp.text()
    resp = await client.post(RESTORE, data=backup)
    assert resp.status == 200, await resp.text()
    assert staging_leftovers(seeded.logdir) == []
    info = await (await client.get("/data?xp=base")).json()
    for copy in ("raw copy", "multipart", "base"):
        assert await (await client.get(f"/data?xp={q(copy)}")).json() == info
        for metric in info["scalars"]:
            path = f"/data/scalars?xp={q(copy)}&name={q(metric)}"
            assert await (await client.get(path)).read() == seeded.api[f"scalars base {metric}"]


async def test_torn_tail_in_archive_is_cut_off(seeded: Seeded) -> None:
    """An event file ending in half a record (copied mid-write) restores its complete records."""
    archive = make_zip([(entry(EVENTS), GOOD_RECORD + GOOD_RECORD[:20])])
    resp = await seeded.client.post("/backup?xp=torn&force=true", data=archive)
    assert resp.status == 200, await resp.text()
    assert (seeded.logdir / "torn" / EVENTS).read_bytes() == GOOD_RECORD
    assert staging_leftovers(seeded.logdir) == []


async def test_restore_over_foreign_directory_is_refused(seeded: Seeded) -> None:
    """A restore never replaces or merges into a directory the bridge does not own."""
    foreign = seeded.logdir / "notes"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    await seeded.remember()
    resp = await seeded.client.post("/backup?xp=notes&force=true", data=await seeded.backup())
    await assert_api_error(resp, 409, "notes")
    await seeded.assert_unchanged()


def test_fuzzed_backups_only_raise_api_errors(tmp_path: Path) -> None:
    """Random damage to a real backup zip ends in a 4xx error or a clean restore, never a crash."""
    good = make_zip(
        [
            (entry(EVENTS), GOOD_RECORD * 20),
            (entry(EVENTS + ".2", method=zipfile.ZIP_STORED), GOOD_RECORD * 5),
        ]
    )
    rng = random.Random(3)
    outcomes = {"refused": 0, "restored": 0}
    for attempt in range(400):
        data = bytearray(good)
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        upload = tmp_path / f"upload-{attempt}.zip"
        upload.write_bytes(bytes(data))
        target = tmp_path / f"target-{attempt}"
        try:
            unpack_archive(upload, target, ArchiveLimits())
            outcomes["restored"] += 1
        except ApiError as exc:
            assert 400 <= exc.status < 500, exc.message
            outcomes["refused"] += 1
    assert outcomes["refused"] > 100, outcomes
    written = {p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*")}
    assert all(name.startswith(("upload-", "target-")) for name in written)


async def test_valid_event_with_only_wall_time_and_step_restores(seeded: Seeded) -> None:
    """An Event holding only a wall time and a large step is valid TensorBoard data."""
    payload = b"\x09" + struct.pack("<d", 1.0) + b"\x10" + b"\x80" * 7 + b"\x02"  # step 2**50
    archive = make_zip([(entry(EVENTS), GOOD_RECORD + tfrecord.frame(payload))])
    resp = await seeded.client.post("/backup?xp=big%20step&force=true", data=archive)
    assert resp.status == 200, await resp.text()


def with_zip64_end(data: bytes, entries: int | None = None) -> bytes:
    """Return `data` (a zip without comment) ending in Zip64 end records, as large zips do.

    The classic end record then holds only 0xFFFF/0xFFFFFFFF placeholders; `entries` makes the
    Zip64 record state another entry count.
    """
    end = len(data) - 22
    _, _, _, _, count, size, offset, _ = struct.unpack("<4s4H2LH", data[end:])
    stated = count if entries is None else entries
    record = b"PK\x06\x06" + struct.pack(
        "<QHHLLQQQQ", 44, 45, 45, 0, 0, stated, stated, size, offset
    )
    locator = b"PK\x06\x07" + struct.pack("<LQL", 0, end, 1)
    classic = b"PK\x05\x06" + struct.pack("<4H2LH", 0, 0, 0xFFFF, 0xFFFF, 2**32 - 1, 2**32 - 1, 0)
    return data[:end] + record + locator + classic


async def test_zip64_end_records_are_read_like_zipfile_reads_them(make_client, logdir) -> None:
    """Zip64 end records: a good archive restores; their counts, not the placeholders, count."""
    client = await make_client(archive_limits=ArchiveLimits(max_entries=10))
    seeded = await seed(client, logdir)
    good = with_zip64_end(await seeded.backup())
    assert zipfile.ZipFile(io.BytesIO(good)).testzip() is None
    resp = await client.post("/backup?xp=zip64&force=true", data=good)
    assert resp.status == 200, await resp.text()
    await seeded.remember()
    resp = await client.post(RESTORE, data=with_zip64_end(many_entries(3), entries=10**7))
    await assert_api_error(resp, 413, "10000000 entries", "at most 10")
    resp = await client.post(RESTORE, data=with_zip64_end(many_entries(2000), entries=1))
    await assert_api_error(resp, 413, "central directory", "at most 10 entries")
    await seeded.assert_unchanged()


def test_end_record_holding_its_own_signature_is_read_like_zipfile() -> None:
    """An end record whose count fields spell its signature is still read at the very end."""
    fields = struct.pack("<4H2LH", 0, 0, 0x4B50, 0x0605, 100, 0, 0)  # 'PK\x05\x06' inside
    tail = b"PK\x05\x06" + fields
    assert tail.rfind(b"PK\x05\x06") == 8
    assert _directory_size(io.BytesIO(b"junk" + tail)) == (0x0605, 100)


def overlapping_zip(copies: int) -> bytes:
    """Return a zip whose `copies` directory entries all point at one compressed entry."""
    data = bytearray(make_zip([(entry(EVENTS, method=zipfile.ZIP_STORED), GOOD_RECORD * 1000)]))
    central_at = data.index(b"PK\x01\x02")
    end_at = data.index(b"PK\x05\x06")
    central = bytes(data[central_at:end_at])
    name_length = struct.unpack_from("<H", central, 28)[0]
    directory = b"".join(
        central[: 46 + name_length - 1] + bytes([ord("a") + i % 26]) + central[46 + name_length :]
        for i in range(copies)
    )
    end = b"PK\x05\x06" + struct.pack("<4H2LH", 0, 0, copies, copies, len(directory), central_at, 0)
    return bytes(data[:central_at]) + directory + end


async def test_overlapping_entries_are_refused(seeded: Seeded) -> None:
    """Many directory entries sharing one compressed stream (an overlapping zip bomb)."""
    resp = await seeded.client.post(RESTORE, data=overlapping_zip(20))
    await assert_api_error(resp, 400, "overlap")
    await seeded.assert_unchanged()


def string_tensor_scalar() -> bytes:
    """An Event whose `scalars`-plugin tensor holds a string (TensorBoard skips it)."""
    from tensorboard.compat.proto import event_pb2, types_pb2

    event = event_pb2.Event(wall_time=1.0, step=1)
    value = event.summary.value.add(tag="t")
    value.metadata.plugin_data.plugin_name = "scalars"
    value.tensor.dtype = types_pb2.DT_STRING
    value.tensor.tensor_shape.dim.add(size=1)
    value.tensor.string_val.append(b"abc")
    return event.SerializeToString()


ODD_EVENTS = {
    "step-only": b"\x09" + struct.pack("<d", 1.0) + b"\x10" + b"\x80" * 7 + b"\x02",
    "string-tensor": string_tensor_scalar(),
}


@pytest.mark.parametrize("payload", ODD_EVENTS.values(), ids=ODD_EVENTS.keys())
async def test_odd_but_valid_event_in_logdir_does_not_break_reads(
    make_client, logdir: Path, payload: bytes
) -> None:
    """An event file TensorBoard reads without error never makes a GET answer 500."""
    (logdir / "xp").mkdir()
    (logdir / "xp" / EVENTS).write_bytes(GOOD_RECORD + tfrecord.frame(payload))
    client = await make_client()
    resp = await client.get("/data?xp=xp")
    assert resp.status == 200, await resp.text()
