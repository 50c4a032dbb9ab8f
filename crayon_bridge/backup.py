"""Backups: an experiment's event files as a zip, and the checked unpacking of such a zip.

A backup holds only complete records (the sizes come from the read index). A restore unpacks into
the bridge's staging area, refuses anything that is not a plain event file or could escape its
directory, caps entry count and unpacked size as it goes (a zip bomb stops within its first
bytes over the cap), checks every record, and only then is the directory swapped in.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from .errors import BadRequest, PayloadTooLarge, clip
from .reader import ExperimentIndex, is_event_file

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


def _entry_file_name(info: zipfile.ZipInfo) -> str | None:
    """Return the file name an entry unpacks to, None for a directory, or raise BadRequest."""
    name = info.filename
    where = f"archive entry {clip(name)}"
    mode = info.external_attr >> 16
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
    return path.name


def _copy_capped(source: BinaryIO, target: BinaryIO, budget: int) -> int:
    copied = 0
    while chunk := source.read(_CHUNK):
        copied += len(chunk)
        if copied > budget:
            raise PayloadTooLarge("archive unpacks to more than the allowed size")
        target.write(chunk)
    return copied


def unpack_archive(archive_path: Path, target: Path, limits: ArchiveLimits) -> ExperimentIndex:
    """Unpack the event files of a backup into the new directory `target`, checked.

    Returns the read index of the unpacked files. A torn last record of a file (an archive
    taken by a tool that copied a file mid-write) is cut off, as a reader would skip it.

    Raises:
        BadRequest: not a zip, a bad entry, a CRC error, or a file that does not parse.
        PayloadTooLarge: too many entries or too many unpacked bytes.
    """
    try:
        archive = zipfile.ZipFile(archive_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BadRequest(f"the upload is not a readable zip archive: {exc}") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_entries:
            raise PayloadTooLarge(f"archive has {len(infos)} entries; at most {limits.max_entries}")
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
        target.mkdir()
        budget = limits.max_unpacked_bytes
        for name, info in names.items():
            try:
                with archive.open(info) as source, open(target / name, "xb") as out:
                    budget -= _copy_capped(source, out, budget)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
                raise BadRequest(f"archive entry {clip(info.filename)} is damaged: {exc}") from exc
    return _check_unpacked(target)


def _check_unpacked(target: Path) -> ExperimentIndex:
    index = ExperimentIndex(target)
    with index.lock:
        index.refresh()
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
