"""The read index equals a plain record-by-record reading, however the file was written."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from crayon_bridge import bulkdecode, events, tfrecord
from crayon_bridge.models import Histogram, HistogramPoint, ScalarColumns, ScalarPoint
from crayon_bridge.reader import ExperimentIndex


def reference_read(data: bytes) -> dict[str, list]:
    """Every scalar by tag, decoded with protobuf one record at a time."""
    decoder = events.EventDecoder()
    result: dict[str, list] = {}
    for payload, _ in tfrecord.iter_payloads(data):
        for item in decoder.decode(payload):
            if item.scalar is not None:
                point = item.scalar
                result.setdefault(item.tag, []).append([point.wall_time, point.step, point.value])
    return result


def index_read(directory: Path) -> dict[str, list]:
    index = ExperimentIndex(directory)
    with index.lock:
        index.refresh()
        return {
            tag: [list(row) for row in zip(*(c.tolist() for c in series.columns()), strict=True)]
            for tag, series in index.scalars.items()
        }


def same(a: dict, b: dict) -> bool:
    """Equal, with NaN equal to NaN."""
    return a.keys() == b.keys() and all(
        len(a[k]) == len(b[k])
        and all(
            x == y or (math.isnan(x) and math.isnan(y))
            for ra, rb in zip(a[k], b[k], strict=True)
            for x, y in zip(ra, rb, strict=True)
        )
        for k in a
    )


def columns(start_step: int, count: int, seed: int) -> ScalarColumns:
    rng = np.random.default_rng(seed)
    return ScalarColumns(
        ("tag",),
        np.zeros(count, dtype=np.int64),
        rng.uniform(1, 2e9, count),
        np.arange(start_step, start_step + count, dtype=np.int64),
        rng.normal(size=count).astype(np.float32),
    )


def write(directory: Path, chunks: list[bytes]) -> bytes:
    directory.mkdir(exist_ok=True)
    data = tfrecord.frame(events.file_version_payload(1.0)) + b"".join(chunks)
    (directory / "events.out.tfevents.1.host").write_bytes(data)
    return data


def mixed_chunks() -> list[bytes]:
    loss, acc = events.scalar_prefix("loss"), events.scalar_prefix("acc/é")
    hist = Histogram(0.0, 1.0, 1.0, 1.0, 1.0, (1.0,), (1.0,))
    return [
        events.columns_records([loss], columns(0, 300, 1)),  # steps cross 127 -> 128: two lengths
        events.columns_records([acc], columns(0, 40, 2)),  # same length as some "loss" records
        tfrecord.frame(events.histogram_payload("w", HistogramPoint(1.0, 1, hist))),
        events.scalar_records(loss, [ScalarPoint(5.0, 0, math.nan), ScalarPoint(0.0, 9, 1.0)]),
        events.columns_records([loss], columns(2**40, 100, 3)),
        events.columns_records([acc], columns(16384, 5000, 4)),
    ]


def test_index_equals_reference_on_a_mixed_file(tmp_path):
    data = write(tmp_path / "xp", mixed_chunks())
    assert same(index_read(tmp_path / "xp"), reference_read(data))


@pytest.mark.parametrize("interleave", [1, 7, 33, 100])
def test_index_equals_reference_on_interleaved_tags(tmp_path, interleave):
    tags = [events.scalar_prefix(f"m{i}") for i in range(3)]
    chunks = [
        events.columns_records([tags[i % 3]], columns(1000 + i * interleave, interleave, i))
        for i in range(30)
    ]
    data = write(tmp_path / "xp", chunks)
    assert same(index_read(tmp_path / "xp"), reference_read(data))


def test_incremental_reads_equal_a_full_read(tmp_path):
    directory = tmp_path / "xp"
    data = write(directory, [])
    index = ExperimentIndex(directory)
    path = next(directory.iterdir())
    for i, chunk in enumerate(mixed_chunks()):
        data += chunk
        # append in two halves: the first read sees a torn record and must resume after it
        half = len(chunk) // 2 + 3
        for piece in (chunk[:half], chunk[half:]):
            with open(path, "ab") as handle:
                handle.write(piece)
            with index.lock:
                index.refresh()
        assert same(index_read(directory), reference_read(data)), f"after chunk {i}"
        with index.lock:
            got = {t: len(s) for t, s in index.scalars.items()}
        assert got == {t: len(v) for t, v in reference_read(data).items()}


def test_damage_in_a_run_keeps_the_records_before_it(tmp_path):
    good = events.columns_records([events.scalar_prefix("loss")], columns(1000, 200, 5))
    damaged = bytearray(good)
    record = len(good) // 200
    damaged[150 * record + 20] ^= 0xFF  # a byte inside the payload of record 150
    write(tmp_path / "xp", [bytes(damaged)])
    index = ExperimentIndex(tmp_path / "xp")
    with index.lock:
        index.refresh()
        assert len(index.scalars["loss"]) == 150
        assert index.damaged_files() == ["events.out.tfevents.1.host"]
        [(_, complete)] = index.complete_sizes()
    header = len(tfrecord.frame(events.file_version_payload(1.0)))
    assert complete == header + 150 * record


def test_runs_are_decoded_in_bulk(tmp_path, monkeypatch):
    """A long series goes through the column path, not one record at a time."""
    seen = []
    real = bulkdecode._decode_scalar_rows
    monkeypatch.setattr(
        bulkdecode, "_decode_scalar_rows", lambda p, on_run: seen.append(len(p)) or real(p, on_run)
    )
    write(
        tmp_path / "xp",
        [events.columns_records([events.scalar_prefix("x")], columns(200, 10_000, 6))],
    )
    assert len(index_read(tmp_path / "xp")["x"]) == 10_000
    assert sum(seen) == 10_000
