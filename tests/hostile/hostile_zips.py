"""A catalogue of hostile zip archives, each with the status and message fragments it must get."""

from __future__ import annotations

import io
import random
import stat
import struct
import zipfile
from collections.abc import Callable

from hostile_support import deflated_zeros, handmade_zip, make_zip

from crayon_bridge import tfrecord

RESTORE = "/backup?xp=base&force=true"
EVENTS = "events.out.tfevents.1700000000.host.1.1"
GOOD_RECORD = tfrecord.frame(b"\x09" + struct.pack("<d", 1.0) + b"\x10\x01")


def entry(
    name: str, mode: int | None = None, method: int = zipfile.ZIP_DEFLATED
) -> zipfile.ZipInfo:
    """Return a ZipInfo for `name`, with a Unix file mode when given."""
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.compress_type = method
    if mode is not None:
        info.create_system = 3
        info.external_attr = mode << 16
    return info


def with_good(*extra: tuple[zipfile.ZipInfo | str, bytes]) -> bytes:
    """Return a zip holding one good event file and the `extra` entries."""
    return make_zip([(entry(EVENTS), GOOD_RECORD), *extra])


def damaged_stored_zip() -> bytes:
    """Return a zip of one stored event file with one byte of its data flipped (a CRC error)."""
    data = bytearray(make_zip([(entry(EVENTS, method=zipfile.ZIP_STORED), GOOD_RECORD * 4)]))
    position = data.index(GOOD_RECORD) + 20
    data[position] ^= 0xFF
    return bytes(data)


def encrypted_zip() -> bytes:
    """Return a zip whose one entry claims to be encrypted."""
    data = bytearray(make_zip([(entry(EVENTS), GOOD_RECORD)]))
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature) + flag_at
        data[at] |= 0x1
    return bytes(data)


def simple_scalar_crasher() -> bytes:
    """A record shaped like the bridge's scalar fast path, whose step varint runs off the end."""
    payload = b"\x09" + struct.pack("<d", 1.0) + b"\x10" + b"\x80" * 7
    return tfrecord.frame(payload)


def empty_name_zip() -> bytes:
    """Return a zip of one entry whose name is empty."""
    local = b"PK\x03\x04" + struct.pack("<5H3L2H", 20, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    central = b"PK\x01\x02" + struct.pack(
        "<6H3L5H2L", 20, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    )
    end = b"PK\x05\x06" + struct.pack("<4H2LH", 0, 0, 1, 1, len(central), len(local), 0)
    return local + central + end


def many_entries(count: int) -> bytes:
    """Return a zip of `count` tiny stored entries."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(count):
            archive.writestr(f"d/{i}/", b"")
    return buffer.getvalue()


HOSTILE_ARCHIVES: dict[str, tuple[Callable[[], bytes], int, tuple[str, ...]]] = {
    "zip-slip-parent": (lambda: with_good(("../events.out.tfevents.x", GOOD_RECORD)), 400, ("..",)),
    "zip-slip-deep": (
        lambda: with_good(("../../../../../tmp/events.out.tfevents.x", GOOD_RECORD)),
        400,
        ("'..'",),
    ),
    "zip-slip-inner": (lambda: with_good(("a/../../tfevents", GOOD_RECORD)), 400, ("'..'",)),
    "absolute": (
        lambda: with_good(("/tmp/events.out.tfevents.x", GOOD_RECORD)),
        400,
        ("absolute",),
    ),
    "drive-letter": (
        lambda: with_good(("C:/events.out.tfevents.x", GOOD_RECORD)),
        400,
        ("absolute",),
    ),
    "backslash-slip": (
        lambda: with_good(("..\\..\\events.out.tfevents.x", GOOD_RECORD)),
        400,
        ("backslash",),
    ),
    "symlink": (
        lambda: with_good((entry("events.out.tfevents.ln", stat.S_IFLNK | 0o777), b"/etc/passwd")),
        400,
        ("link",),
    ),
    "symlink-dir": (
        lambda: with_good((entry("linkdir/", stat.S_IFLNK | 0o777), b"/")),
        400,
        ("link",),
    ),
    "char-device": (
        lambda: with_good((entry("events.out.tfevents.dev", stat.S_IFCHR | 0o666), b"")),
        400,
        ("device",),
    ),
    "block-device": (
        lambda: with_good((entry("events.out.tfevents.blk", stat.S_IFBLK | 0o666), b"")),
        400,
        ("device",),
    ),
    "fifo": (
        lambda: with_good((entry("events.out.tfevents.fifo", stat.S_IFIFO | 0o666), b"")),
        400,
        ("device",),
    ),
    "socket": (
        lambda: with_good((entry("events.out.tfevents.sock", stat.S_IFSOCK | 0o666), b"")),
        400,
        ("device",),
    ),
    "not-event-file": (lambda: with_good(("notes.txt", b"hello")), 400, ("not a TensorBoard",)),
    "hidden-event-file": (lambda: with_good((".events.out.tfevents", GOOD_RECORD)), 400, ("not",)),
    "script": (lambda: with_good(("run.sh", b"rm -rf ~")), 400, ("not a TensorBoard event",)),
    "junk-event-file": (
        lambda: with_good(("events.out.tfevents.junk", b"junk" * 100)),
        400,
        ("length checksum",),
    ),
    "bad-payload-crc": (
        lambda: with_good(("events.out.tfevents.crc", GOOD_RECORD[:-1] + b"\x00")),
        400,
        ("record checksum",),
    ),
    "not-protobuf": (
        lambda: with_good(("events.out.tfevents.pb", tfrecord.frame(b"\xff\xff\xff\xff"))),
        400,
        ("does not parse",),
    ),
    "fast-path-crasher": (
        lambda: with_good(("events.out.tfevents.fp", simple_scalar_crasher())),
        400,
        ("does not parse",),
    ),
    "crc-error": (damaged_stored_zip, 400, ("damaged", "CRC")),
    "junk": (lambda: random.Random(1).randbytes(10_000), 400, ("not a readable zip",)),
    "zip-header-junk": (lambda: b"PK\x03\x04" + b"\x00" * 500, 400, ("not a readable zip",)),
    "truncated": (lambda: with_good()[:-30], 400, ("not a readable zip",)),
    "no-entries": (lambda: make_zip([]), 400, ("no TensorBoard event files",)),
    "only-directory": (lambda: make_zip([(entry("dir/"), b"")]), 400, ("no TensorBoard",)),
    "duplicate-names": (
        lambda: make_zip([("a/" + EVENTS, GOOD_RECORD), ("b/" + EVENTS, GOOD_RECORD)]),
        400,
        ("two event files",),
    ),
    "encrypted": (encrypted_zip, 400, ("encrypted",)),
    "bzip2": (
        lambda: make_zip([(entry(EVENTS, method=zipfile.ZIP_BZIP2), GOOD_RECORD)]),
        400,
        ("method 12", "deflated"),
    ),
    "lzma": (
        lambda: make_zip([(entry(EVENTS, method=zipfile.ZIP_LZMA), GOOD_RECORD)]),
        400,
        ("method 14",),
    ),
    "newline-name": (lambda: with_good(("events.out.tfevents.\n", GOOD_RECORD)), 400, ("control",)),
    "long-name": (
        lambda: with_good(("events.out.tfevents." + "x" * 300, GOOD_RECORD)),
        400,
        ("255 bytes",),
    ),
    "empty-name": (empty_name_zip, 400, ("empty name",)),
    "too-many-entries": (lambda: many_entries(1001), 413, ("1001 entries", "at most 1000")),
    "lying-header": (
        lambda: handmade_zip(EVENTS, *deflated_zeros(GOOD_RECORD, 64), declared_size=100),
        400,
        ("damaged", "CRC"),
    ),
}
