"""The experiments under one logdir: the only code that maps names to directories.

Each experiment is a directory named exactly as the experiment, holding event files. Writes go
through the experiment's `EventFileWriter`; reads go through its `ExperimentIndex`. The store is
synchronous and knows nothing of HTTP or asyncio; it is thread-safe, so callers may run slow reads
in worker threads.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TypeVar

from . import tfrecord
from .backup import ArchiveLimits, remove_quietly, unpack_archive
from .errors import ApiError, Conflict, NotFound, StorageError, clip, os_reason
from .events import columns_records, histogram_payload, scalar_prefix, scalar_records
from .models import HistogramPoint, ScalarColumns, ScalarPoint
from .names import RESERVED_DIRECTORY, check_experiment_name
from .reader import ExperimentIndex, is_event_file
from .writer import EventFileWriter, fsync_directory

log = logging.getLogger(__name__)

T = TypeVar("T")


def _fsync_tree(directory: Path) -> None:
    """fsync every file directly in `directory`, then the directory itself."""
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False):
                fd = os.open(entry.path, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
    fsync_directory(directory)


class WriteTotals:
    """What the store has written since it started, for the /metrics endpoint."""

    def __init__(self) -> None:
        self.points = 0
        self.bytes = 0
        self._lock = threading.Lock()  # appends of different experiments may run in threads

    def add(self, points: int, size: int) -> None:
        """Count one successful append."""
        with self._lock:
            self.points += points
            self.bytes += size


class Experiment:
    """One experiment directory: its writer, its read index and the lock that orders writes."""

    def __init__(self, name: str, directory: Path, fsync: bool, totals: WriteTotals) -> None:
        self.name = name
        self.directory = directory
        self.index = ExperimentIndex(directory)
        self._fsync = fsync
        self._totals = totals
        self._write_lock = threading.Lock()
        self._writer: EventFileWriter | None = None
        self._prefixes: dict[str, bytes] = {}
        self.closed = False

    def _deleted(self) -> NotFound:
        return NotFound(f"experiment {clip(self.name)} was deleted")

    def open_writer(self) -> None:
        """Create the experiment's first event file now (so TensorBoard lists it at once)."""
        with self._write_lock:
            self._ensure_writer()

    def _ensure_writer(self) -> EventFileWriter:
        if self.closed:
            raise self._deleted()
        if self._writer is None or self._writer.broken:
            broken = self._writer
            if broken is not None:
                broken.close()
                self._writer = None
            self._writer = EventFileWriter.create(self.directory, self._fsync)
            if broken is not None:
                log.warning(
                    "experiment %r: a write to %s failed earlier; continuing in %s",
                    self.name,
                    broken.path.name,
                    self._writer.path.name,
                )
        return self._writer

    def _append(self, records: bytes, points: int) -> None:
        with self._write_lock:
            try:
                self._ensure_writer().append(records)
                self._totals.add(points, len(records))
            except FileNotFoundError as exc:
                raise self._deleted() from exc
            except OSError as exc:
                log.error("write to experiment %r failed: %s", self.name, exc)
                raise StorageError(
                    f"could not store the points of experiment {self.name!r}: {os_reason(exc)}; "
                    "nothing of this request was stored, retry once the cause is fixed"
                ) from exc

    def _prefix(self, tag: str) -> bytes:
        prefix = self._prefixes.get(tag)
        if prefix is None:
            prefix = self._prefixes[tag] = scalar_prefix(tag)
        return prefix

    def append_scalars(self, batch: Mapping[str, Sequence[ScalarPoint]] | ScalarColumns) -> int:
        """Store every point of `batch` with one write; return the count.

        `batch` maps metric names to points, or holds many points as columns.
        """
        if isinstance(batch, ScalarColumns):
            records = columns_records([self._prefix(tag) for tag in batch.tags], batch)
            count = len(batch)
        else:
            records = b"".join(
                scalar_records(self._prefix(tag), points) for tag, points in batch.items()
            )
            count = sum(map(len, batch.values()))
        self._append(records, count)
        return count

    def append_histograms(self, tag: str, points: Iterable[HistogramPoint]) -> int:
        """Store histograms of one metric with one write; return the count."""
        parts = [tfrecord.frame(histogram_payload(tag, point)) for point in points]
        self._append(b"".join(parts), len(parts))
        return len(parts)

    @contextmanager
    def reading(self):
        """Hold the read lock with the index refreshed from disk, for reading series."""
        with self.index.lock:
            try:
                self.index.refresh()
            except FileNotFoundError as exc:
                raise self._deleted() from exc
            yield self.index

    def close(self) -> None:
        """Close the writer for good: later appends answer 404."""
        with self._write_lock:
            self.closed = True
            if self._writer is not None:
                self._writer.close()
                self._writer = None


class ExperimentStore:
    """All experiments of one logdir."""

    def __init__(self, logdir: Path, *, fsync: bool = False) -> None:
        self.logdir = logdir
        self.fsync = fsync
        self._lock = threading.Lock()  # guards the registry and directory renames
        self._experiments: dict[str, Experiment] = {}
        self.totals = WriteTotals()

    @property
    def staging(self) -> Path:
        """The bridge's own directory inside the logdir, for uploads, restores and deletions."""
        return self.logdir / RESERVED_DIRECTORY

    def open(self) -> None:
        """Create the logdir if needed, clear leftovers of a crash, and find experiments on disk."""
        self.logdir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir()
        with os.scandir(self.logdir) as entries:
            for entry in entries:
                if self._is_experiment_directory(entry):
                    self._experiments[entry.name] = self._new_experiment(entry.name)

    def _is_experiment_directory(self, entry: os.DirEntry) -> bool:
        if entry.name == RESERVED_DIRECTORY or not entry.is_dir(follow_symlinks=False):
            return False
        try:
            check_experiment_name(entry.name)
        except ApiError:
            log.warning("ignoring directory %r: not a valid experiment name", entry.name)
            return False
        with os.scandir(entry.path) as files:
            return any(is_event_file(file.name) for file in files)

    def _new_experiment(self, name: str) -> Experiment:
        return Experiment(name, self.logdir / name, self.fsync, self.totals)

    def close(self) -> None:
        """Close every open event file."""
        with self._lock:
            for experiment in self._experiments.values():
                experiment.close()

    def names(self) -> list[str]:
        """Return the names of all experiments, sorted."""
        with self._lock:
            return sorted(self._experiments)

    def get(self, name: str) -> Experiment:
        """Return the experiment called `name`, or raise NotFound."""
        experiment = self._experiments.get(name)
        if experiment is None:
            raise NotFound(f"unknown experiment {clip(name)}")
        return experiment

    def _check_new_name(self, name: str) -> None:
        if name in self._experiments:
            raise Conflict(f"experiment {name!r} already exists")
        normal = unicodedata.normalize("NFC", name)
        for other in self._experiments:
            if unicodedata.normalize("NFC", other) == normal:
                raise Conflict(
                    f"experiment {name!r} differs from the existing {other!r} only in Unicode "
                    "normalisation; use the existing name"
                )

    def create(self, name: str) -> Experiment:
        """Create an experiment and its first event file, or raise Conflict if it exists."""
        check_experiment_name(name)
        with self._lock:
            self._check_new_name(name)
            directory = self.logdir / name
            try:
                directory.mkdir()
            except FileExistsError as exc:
                raise Conflict(
                    f"a file or directory named {name!r} already exists in the logdir"
                ) from exc
            except OSError as exc:
                raise StorageError(
                    f"could not create experiment {name!r}: {os_reason(exc)}"
                ) from exc
            experiment = self._new_experiment(name)
            try:
                experiment.open_writer()
                if self.fsync:  # the new directory's own entry, for power-loss safety
                    fsync_directory(self.logdir)
            except OSError as exc:
                shutil.rmtree(directory, ignore_errors=True)
                raise StorageError(
                    f"could not create experiment {name!r}: {os_reason(exc)}"
                ) from exc
            self._experiments[name] = experiment
            return experiment

    def delete(self, name: str) -> None:
        """Delete an experiment: it disappears from listings and from TensorBoard at once."""
        with self._lock:
            experiment = self.get(name)
            experiment.close()
            try:
                trash = self._move_to_staging(experiment.directory)
            except FileNotFoundError:  # removed by hand already
                trash = None
            except OSError as exc:  # still on disk: keep it, with a fresh writer
                self._experiments[name] = self._new_experiment(name)
                raise StorageError(
                    f"could not delete experiment {name!r}: {os_reason(exc)}"
                ) from exc
            del self._experiments[name]
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)

    def _move_to_staging(self, directory: Path) -> Path:
        trash = self.staging / f"deleted-{uuid.uuid4().hex}"
        directory.rename(trash)
        return trash

    def replace(
        self, name: str, new_directory: Path, force: bool, index: ExperimentIndex | None = None
    ) -> None:
        """Make `new_directory` (inside the staging area) the experiment `name`, atomically.

        Raises:
            Conflict: the experiment exists and `force` is false.
        """
        check_experiment_name(name)
        trash = None
        with self._lock:
            old = self._experiments.get(name)
            if old is None:
                self._check_new_name(name)
                if os.path.lexists(self.logdir / name):
                    raise Conflict(
                        f"a file or directory named {name!r} that is not an experiment already "
                        "exists in the logdir; restore under another name"
                    )
            elif not force:
                raise Conflict(f"experiment {name!r} exists; restore with force=true to replace it")
            if old is not None:
                old.close()
                trash = self._move_to_staging(old.directory)
            new_directory.rename(self.logdir / name)
            experiment = self._experiments[name] = self._new_experiment(name)
            if index is not None:  # already parsed while checking the archive: keep it warm
                index.directory = experiment.directory
                experiment.index = index
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)

    def snapshot(self, name: str) -> list[tuple[str, BinaryIO, int]]:
        """Open the experiment's event files with their sizes in complete records, for a backup.

        The files are opened under the read lock, so the snapshot holds every point acknowledged
        before it and survives a deletion or restore that happens while it is being sent.
        """
        with self.get(name).reading() as index:
            return [
                (file_name, open(index.directory / file_name, "rb"), size)
                for file_name, size in index.complete_sizes()
            ]

    def restore(self, name: str, archive_path: Path, limits: ArchiveLimits) -> None:
        """Replace (or create) experiment `name` with the checked contents of a backup zip."""
        target = self.staging / f"restore-{uuid.uuid4().hex}"
        try:
            index = unpack_archive(archive_path, target, limits)
            if self.fsync:  # on the disk before it is swapped in and acknowledged
                _fsync_tree(target)
            self.replace(name, target, force=True, index=index)
            if self.fsync:
                fsync_directory(self.logdir)
        except OSError as exc:  # disk full while unpacking: the experiment is untouched
            raise StorageError(f"could not restore experiment {name!r}: {os_reason(exc)}") from exc
        finally:
            remove_quietly(target)

    def read(self, name: str, reader: Callable[[ExperimentIndex], T]) -> T:
        """Run `reader` on the experiment's index, refreshed from disk, under its read lock."""
        with self.get(name).reading() as index:
            return reader(index)
