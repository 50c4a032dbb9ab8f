"""The write side of one experiment: appending framed events to its newest event file.

Each call hands its records to the operating system in one `write` (looping only on a short
write) before it returns, so a point is acknowledged only once a `kill -9` can no longer lose it.
With `fsync=True` it is also on the disk, surviving power loss. A failed write is cut back off the
file, so no reader ever meets a half record in the middle of a file, and the file is never appended
to again: a reader may have parsed the cut-off bytes, and new records written over the same offsets
would look to it like garbage in the middle of the file. The next write starts a new file.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import socket
import threading
import time
from pathlib import Path

from . import tfrecord
from .events import file_version_payload
from .reader import list_event_files

log = logging.getLogger(__name__)

_PREFIX = "events.out.tfevents."
_TIMESTAMP = re.compile(r"events\.out\.tfevents\.(\d+)")
_counter = iter(range(1, 1 << 62))
_counter_lock = threading.Lock()


def new_event_file_name(existing: list[str], now: float) -> str:
    """Return a unique event file name that sorts after every name in `existing`.

    TensorBoard reads a run's files in name order and, once it moved on to a newer file, never
    goes back: new points must go to a file that sorts last.
    """
    with _counter_lock:
        sequence = next(_counter)
    host = socket.gethostname().replace("/", "_") or "localhost"
    timestamp = int(now)
    last = max(existing, default="")
    match = _TIMESTAMP.match(last)
    if match:
        timestamp = max(timestamp, int(match.group(1)) + 1)
    name = f"{_PREFIX}{timestamp:010d}.{host}.{os.getpid()}.{sequence}"
    if name <= last:  # a foreign naming scheme: extend the last name, which sorts after it
        name = f"{last}.{os.getpid()}.{sequence}"
    return name


def _write_all(fd: int, data: bytes) -> int:
    written = os.write(fd, data)
    if written == len(data):  # the common case: one call, no copy
        return written
    view = memoryview(data)
    while written < len(view):
        count = os.write(fd, view[written:])
        if count <= 0:  # never for a regular file, but a loop here would hang the server
            raise OSError(errno.EIO, "write made no progress")
        written += count
    return written


def fsync_directory(directory: Path) -> None:
    """Make the entries of `directory` (files created, renamed or removed in it) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class EventFileWriter:
    """An open event file of one experiment, appended to by `append`; not thread-safe alone."""

    def __init__(self, path: Path, fd: int, size: int, fsync: bool) -> None:
        self.path = path
        self._fd = fd
        self.size = size  # bytes of complete records in the file
        self._fsync = fsync
        self.broken = False  # a write failed here: never append to this file again

    @classmethod
    def create(cls, directory: Path, fsync: bool) -> EventFileWriter:
        """Create a new event file in `directory` that sorts last and starts with file_version.

        Raises:
            OSError: the file could not be created or its first record written; nothing is left.
        """
        existing = [name for name, _ in list_event_files(directory)]
        now = time.time()
        path = directory / new_event_file_name(existing, now)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        fd = os.open(path, flags, 0o644)
        try:
            size = _write_all(fd, tfrecord.frame(file_version_payload(now)))
            if fsync:
                os.fsync(fd)
                fsync_directory(directory)
        except OSError:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        return cls(path, fd, size, fsync)

    def append(self, records: bytes) -> None:
        """Append already framed records with one write (and fsync, if configured).

        Raises:
            OSError: nothing was appended: a partial write was cut off again (if even that
                failed, the half record stays as the file's torn tail, which readers skip).
                Either way `broken` is set: the file must not be appended to any more.
        """
        if self.broken:
            raise OSError(errno.EIO, "event file is broken by an earlier failed write")
        try:
            _write_all(self._fd, records)
            if self._fsync:
                os.fsync(self._fd)
        except OSError:
            self._cut_back()
            raise
        self.size += len(records)

    def _cut_back(self) -> None:
        # A concurrent reader may already have parsed complete records of the failed write;
        # once the file shrinks below what it parsed it starts over, but only if the file never
        # grows back past that offset with other records: hence never append here again.
        self.broken = True
        try:
            os.ftruncate(self._fd, self.size)
        except OSError as exc:
            log.error("could not cut a failed write off %s: %s", self.path.name, exc)

    def close(self) -> None:
        """Close the file; later appends go to a new file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
