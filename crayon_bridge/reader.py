"""The read side of one experiment: its event files, parsed incrementally into metric series.

`ExperimentIndex.refresh()` lists the experiment's event files in name order (TensorBoard's
order) and parses only the bytes appended since the last refresh. A record that is still being
written, or was torn by a crash, is left for later; a damaged record ends the reading of that file
(logged), never the request. If files disappear, shrink or a new file sorts before one already
read, the index is rebuilt from scratch, so it always equals what the files hold.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf.message import DecodeError

from . import bulkdecode, tfrecord
from .events import EventDecoder, parse_simple_scalar
from .series import HistogramSeries, ScalarSeries

log = logging.getLogger(__name__)

EVENT_FILE_MARKER = "tfevents"


def is_event_file(name: str) -> bool:
    """Return whether TensorBoard would read a file of this name as an event file."""
    return EVENT_FILE_MARKER in name and not name.startswith(".")


def list_event_files(directory: Path) -> list[tuple[str, int]]:
    """Return `(name, size)` of the event files directly in `directory`, in name order."""
    with os.scandir(directory) as entries:
        files = [
            (entry.name, entry.stat().st_size)
            for entry in entries
            if is_event_file(entry.name) and entry.is_file(follow_symlinks=False)
        ]
    files.sort()
    return files


@dataclass
class _FileProgress:
    name: str
    offset: int = 0  # end of the last complete record parsed
    damaged: bool = False  # a bad record was found: the rest of the file is skipped


@dataclass
class _Parsed:
    files: list[_FileProgress] = field(default_factory=list)
    scalars: dict[str, ScalarSeries] = field(default_factory=dict)
    histograms: dict[str, HistogramSeries] = field(default_factory=dict)
    decoder: EventDecoder = field(default_factory=EventDecoder)
    # Tags of the fast path are bytes; decoding them once per tag saves a decode per record.
    tag_names: dict[bytes, ScalarSeries] = field(default_factory=dict)


class ExperimentIndex:
    """Metric series of one experiment directory, kept equal to its event files.

    Thread-safe: `refresh` and the readers hold one lock, so GETs may run in worker threads.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.lock = threading.Lock()
        self._parsed = _Parsed()

    def refresh(self) -> None:
        """Parse whatever was appended to the event files since the last call.

        Must be called with `self.lock` held. Raises FileNotFoundError if the directory is gone.
        """
        files = list_event_files(self.directory)
        parsed = self._parsed
        known = [progress.name for progress in parsed.files]
        names = [name for name, _ in files]
        if names[: len(known)] != known:
            parsed = self._parsed = _Parsed()
        for index, (name, size) in enumerate(files):
            if index == len(parsed.files):
                parsed.files.append(_FileProgress(name))
            progress = parsed.files[index]
            if size < progress.offset:  # replaced or truncated under us: start over
                self._parsed = _Parsed()
                self.refresh()
                return
            if size > progress.offset and not progress.damaged:
                self._read_file(parsed, progress)

    def _read_file(self, parsed: _Parsed, progress: _FileProgress) -> None:
        with open(self.directory / progress.name, "rb") as handle:
            handle.seek(progress.offset)
            data = handle.read()
        base = progress.offset

        def advance(end: int) -> None:
            progress.offset = base + end

        try:
            bulkdecode.scan(
                data,
                lambda payload: self._add_event(parsed, payload),
                lambda tag, *columns: self._series_for(parsed, tag).extend(*columns),
                advance,
            )
        except (tfrecord.CorruptRecordError, DecodeError) as exc:
            progress.damaged = True
            log.warning(
                "skipping the rest of %s in experiment %r: %s",
                progress.name,
                self.directory.name,
                exc,
            )

    @staticmethod
    def _series_for(parsed: _Parsed, tag: bytes) -> ScalarSeries:
        series = parsed.tag_names.get(tag)
        if series is None:
            name = tag.decode("utf-8", "replace")
            series = parsed.tag_names[tag] = parsed.scalars.setdefault(name, ScalarSeries())
        return series

    def _add_event(self, parsed: _Parsed, payload: bytes) -> None:
        fast = parse_simple_scalar(payload)
        if fast is not None:
            wall_time, step, tag, value = fast
            self._series_for(parsed, tag).append(wall_time, step, value)
            return
        for item in parsed.decoder.decode(payload):
            if item.scalar is not None:
                point = item.scalar
                series = parsed.scalars.get(item.tag)
                if series is None:  # not setdefault, which builds a series per record
                    series = parsed.scalars[item.tag] = ScalarSeries()
                series.append(point.wall_time, point.step, point.value)
            elif item.histogram is not None:
                parsed.histograms.setdefault(item.tag, HistogramSeries()).append(item.histogram)

    # Readers: call with the lock held, after refresh().

    @property
    def scalars(self) -> dict[str, ScalarSeries]:
        """Scalar series by metric name."""
        return self._parsed.scalars

    @property
    def histograms(self) -> dict[str, HistogramSeries]:
        """Histogram series by metric name."""
        return self._parsed.histograms

    def damaged_files(self) -> list[str]:
        """Return the names of files in which a record failed its checks."""
        return [progress.name for progress in self._parsed.files if progress.damaged]

    def complete_sizes(self) -> list[tuple[str, int]]:
        """Return `(file name, bytes of complete records)` for every event file read."""
        return [(progress.name, progress.offset) for progress in self._parsed.files]
