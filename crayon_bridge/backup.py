"""Backups: an experiment's event files as a zip, and the checked unpacking of such a zip.

A backup holds only complete records (the sizes come from the read index). A restore unpacks into
the bridge's staging area, refuses anything that is not a plain event file or could escape its
directory, caps entry count (before parsing the central directory) and unpacked size as it goes,
checks the record framing while unpacking (a zip bomb of junk stops at its first record, one of
valid records at the size cap), then parses every record; only then is the directory swapped in.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import struct
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from . import tfrecord
from .errors import BadRequest, PayloadTooLarge, StorageError, clip, describe
from .names import CONTROL_CHARACTERS, MAX_FILE_NAME_BYTES
from .reader import ExperimentIndex, is_event_file

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
_ENCRYPTED_FLAG = 0x1


@dataclass(frozen=True)
class ArchiveLimits:
    """Caps on an uploaded archive; each refusal is a 413."""

    max_upload_bytes: int = 1 << 30
    max_entries: int = 1000
    max_unpacked_bytes: int = 4 << 30


def write_zip(files: Sequence[tuple[str, BinaryIO, int]], sink: BinaryIO) -> None:
    """Write a zip of `(name, open file, byte count)` entries to `sink` (which may not seek)."""
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, handle, size in files:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            with archive.open(info, "w", force_zip64=size > 0x7FFFFFFF) as entry:
                remaining = size
                while remaining > 0:
                    chunk = handle.read(min(_CHUNK, remaining))
                    if not chunk:
                        break
                    entry.write(chunk)
                    remaining -= len(chunk)
    sink.flush()


_ACCEPTED_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# What zipfile raises on damaged or hostile archive bytes (found by fuzzing it).
_DAMAGED = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    ValueError,
    OSError,
    NotImplementedError,
    RuntimeError,
    OverflowError,
    struct.error,
    zlib.error,
)
# The end of central directory record, and the Zip64 locator and record it may point to.
_EOCD = struct.Struct("<4s4H2LH")
_EOCD_SIGNATURE = b"PK\x05\x06"
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_MAX_COMMENT = 0xFFFF
# Generous central directory bytes per entry (46 fixed, the name, extra fields and a comment).
_DIRECTORY_BYTES_PER_ENTRY = 4096


def _directory_size(handle: BinaryIO) -> tuple[int, int] | None:
    """Return `(entries, central directory bytes)` as the end record states them, or None.

    Read before `zipfile` parses the central directory, whose size is the cost of parsing it:
    an archive of millions of tiny entries is refused without building millions of objects.
    None (no end record found) is left for `zipfile` to report.
    """
    size = handle.seek(0, os.SEEK_END)
    start = max(0, size - _EOCD.size - _MAX_COMMENT)
    handle.seek(start)
    tail = handle.read()
    pos = len(tail) - _EOCD.size  # like zipfile: an end record without comment comes first
    if pos < 0 or tail[pos : pos + 4] != _EOCD_SIGNATURE or tail[-2:] != b"\0\0":
        pos = tail.rfind(_EOCD_SIGNATURE)
    if pos < 0 or pos + _EOCD.size > len(tail):
        return None
    fields = _EOCD.unpack_from(tail, pos)
    entries, directory_bytes = fields[4], fields[5]
    # Like zipfile: a Zip64 locator right before the end record means the Zip64 end record
    # right before the locator holds the real counts (whatever offset the locator states).
    locator_at = pos - _ZIP64_LOCATOR.size
    if locator_at >= 0 and tail[locator_at : locator_at + 4] == b"PK\x06\x07":
        handle.seek(max(0, start + locator_at - _ZIP64_EOCD.size))
        record = handle.read(_ZIP64_EOCD.size)
        if len(record) == _ZIP64_EOCD.size and record[:4] == b"PK\x06\x06":
            zip64 = _ZIP64_EOCD.unpack(record)
            entries, directory_bytes = zip64[7], zip64[8]
    return entries, directory_bytes


def _check_directory_size(archive_path: Path, limits: ArchiveLimits) -> None:
    with open(archive_path, "rb") as handle:
        stated = _directory_size(handle)
    if stated is None:
        return
    entries, directory_bytes = stated
    if entries > limits.max_entries:
        raise PayloadTooLarge(f"archive has {entries} entries; at most {limits.max_entries}")
    if directory_bytes > limits.max_entries * _DIRECTORY_BYTES_PER_ENTRY:
        raise PayloadTooLarge(
            f"archive's central directory is {directory_bytes} bytes, more than "
            f"{limits.max_entries} entries can take; at most {limits.max_entries} entries"
        )


def _entry_file_name(info: zipfile.ZipInfo) -> str | None:
    """Return the file name an entry unpacks to, None for a directory, or raise BadRequest."""
    name = info.filename
    where = f"archive entry {clip(name)}"
    mode = info.external_attr >> 16
    if not name:
        raise BadRequest("an archive entry has an empty name")
    if "\\" in name or "\x00" in name:
        raise BadRequest(f"{where} has a backslash or NUL in its path")
    path = PurePosixPath(name)
    if path.is_absolute() or (name[1:2] == ":"):
        raise BadRequest(f"{where} has an absolute path")
    if ".." in path.parts:
        raise BadRequest(f"{where} has '..' in its path")
    if info.flag_bits & _ENCRYPTED_FLAG:
        raise BadRequest(f"{where} is encrypted")
    if mode and stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise BadRequest(f"{where} is a link or device file; only regular files are accepted")
    if info.is_dir():
        return None
    if not is_event_file(path.name):
        raise BadRequest(
            f"{where} is not a TensorBoard event file (its name must contain 'tfevents')"
        )
    if (
        CONTROL_CHARACTERS.search(name)
        or len(path.name.encode("utf-8", "surrogatepass")) > MAX_FILE_NAME_BYTES
    ):
        raise BadRequest(
            f"{where} has control characters or a file name over {MAX_FILE_NAME_BYTES} bytes"
        )
    if info.compress_type not in _ACCEPTED_METHODS:
        raise BadRequest(
            f"{where} is compressed with method {info.compress_type}; only stored and "
            "deflated entries are accepted (what `GET /backup` writes)"
        )
    return path.name


def _unpack_entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int, limit: int
) -> int:
    """Copy one entry to `target`, checked as it goes, at most `budget` bytes; return the count."""
    where = f"archive entry {clip(info.filename)}"
    check = tfrecord.FramingCheck()
    copied = 0
    with open(target, "xb") as out:
        try:
            source = archive.open(info)
        except _DAMAGED as exc:
            raise BadRequest(f"{where} is damaged: {describe(exc)}") from exc
        with source:
            while True:
                try:
                    chunk = source.read(_CHUNK)
                except _DAMAGED as exc:
                    raise BadRequest(f"{where} is damaged: {describe(exc)}") from exc
                if not chunk:
                    return copied
                copied += len(chunk)
                if copied > budget:
                    raise PayloadTooLarge(f"archive unpacks to more than {limit} bytes")
                try:  # junk (a bomb of zeros, a renamed file) fails at its first record
                    check.feed(chunk)
                except tfrecord.CorruptRecordError as exc:
                    raise BadRequest(f"{where} is not a TensorBoard event file: {exc}") from exc
                out.write(chunk)


def unpack_archive(archive_path: Path, target: Path, limits: ArchiveLimits) -> ExperimentIndex:
    """Unpack the event files of a backup into the new directory `target`, checked.

    Returns the read index of the unpacked files. A torn last record of a file (an archive
    taken by a tool that copied a file mid-write) is cut off, as a reader would skip it.

    Raises:
        BadRequest: not a zip, a bad entry, a CRC error, or a file that does not parse.
        PayloadTooLarge: too many entries or too many unpacked bytes.
        StorageError: the staging area could not be written.
    """
    _check_directory_size(archive_path, limits)
    try:
        archive = zipfile.ZipFile(archive_path)
    except _DAMAGED as exc:
        raise BadRequest(f"the upload is not a readable zip archive: {describe(exc)}") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_entries:
            raise PayloadTooLarge(f"archive has {len(infos)} entries; at most {limits.max_entries}")
        if sum(info.compress_size for info in infos) > archive_path.stat().st_size:
            # Entries sharing compressed bytes: the overlapping kind of zip bomb.
            raise BadRequest(
                "archive entries overlap (their compressed data adds up to more than the "
                "archive); send the zip `GET /backup` wrote"
            )
        names: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = _entry_file_name(info)
            if name is None:
                continue
            if name in names:
                raise BadRequest(f"archive holds two event files named {clip(name)}")
            names[name] = info
        if not names:
            raise BadRequest("archive holds no TensorBoard event files")
        declared = sum(info.file_size for info in names.values())
        if declared > limits.max_unpacked_bytes:
            raise PayloadTooLarge(
                f"archive unpacks to {declared} bytes; at most {limits.max_unpacked_bytes}"
            )
        limit = budget = limits.max_unpacked_bytes
        try:
            target.mkdir()
            for name, info in names.items():
                budget -= _unpack_entry(archive, info, target / name, budget, limit)
        except OSError as exc:
            raise StorageError(
                f"could not unpack the archive in the logdir: {describe(exc)}"
            ) from exc
    return _check_unpacked(target)


def _check_unpacked(target: Path) -> ExperimentIndex:
    index = ExperimentIndex(target)
    with index.lock:
        try:
            index.refresh()
        except Exception as exc:  # any failure to read the untrusted bytes is theirs
            log.warning("refusing an archive whose event files do not parse", exc_info=True)
            raise BadRequest(
                f"an event file in the archive does not parse: {describe(exc)}"
            ) from exc
        damaged = index.damaged_files()
        if damaged:
            raise BadRequest(f"event file {clip(damaged[0])} in the archive does not parse")
        for name, complete in index.complete_sizes():
            path = target / name
            if path.stat().st_size != complete:
                with open(path, "r+b") as handle:
                    handle.truncate(complete)
    return index


def remove_quietly(path: Path) -> None:
    """Remove a staging file or directory, ignoring what is already gone."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
