"""Reading event files fast: runs of same-length scalar records are decoded a column at a time.

The bridge writes a metric's points as records of one length (until its step needs one more
varint byte), so a file is mostly long runs of equal-length records. A run is checked and
decoded with numpy: the length header must repeat, every payload CRC must match (one C call per
record), and every payload must have exactly the shape `events.scalar_payload` writes. Anything
else (other writers' events, histograms, a short run) goes record by record through the caller.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import google_crc32c
import numpy as np

from . import tfrecord

# Checking a run costs a few dozen numpy calls: below this many records one by one is cheaper.
MIN_RUN = 32
# Rows compared per step when looking for the end of a run, so mixed files stay linear.
WINDOW = 4096

_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")

ScalarRun = Callable[[bytes, np.ndarray, np.ndarray, np.ndarray], None]


def _varint_length(payloads: np.ndarray) -> int | None:
    """Return the step varint's length if all rows agree on it, 0 for no step field, or None."""
    if (payloads[:, 9] == 0x2A).all():
        return 0
    if not (payloads[:, 9] == 0x10).all():
        return None
    for length in range(1, 11):
        if 10 + length > payloads.shape[1]:
            return None
        last = payloads[:, 9 + length]
        if (last < 0x80).all():
            if length > 1 and not (payloads[:, 10 : 9 + length] >= 0x80).all():
                return None
            return length
        if (last < 0x80).any():
            return None
    return None


def _decode_steps(payloads: np.ndarray, varint_length: int) -> np.ndarray | None:
    steps = np.zeros(len(payloads), dtype=np.uint64)
    for index in range(varint_length):
        group = payloads[:, 10 + index].astype(np.uint64) & np.uint64(0x7F)
        steps |= group << np.uint64(7 * index)
    if varint_length == 10 or (steps >= np.uint64(1 << 63)).any():
        return None  # not a valid non-negative int64: let protobuf decide
    return steps.astype(np.int64)


def _decode_scalar_rows(payloads: np.ndarray, on_run: ScalarRun) -> bool:
    """Decode rows of equal-length payloads of `scalar_payload`'s shape; False if they are not."""
    count, length = payloads.shape
    if length < 16 or not (payloads[:, 0] == 0x09).all():
        return False
    varint_length = _varint_length(payloads)
    if varint_length is None:
        return False
    start = 9 + (1 + varint_length if varint_length else 0)
    if length < start + 11:
        return False
    tag_length = length - start - 11
    expected = {
        start: 0x2A,
        start + 1: length - start - 2,
        start + 2: 0x0A,
        start + 3: length - start - 4,
        start + 4: 0x0A,
        start + 5: tag_length,
        length - 5: 0x15,
    }
    if max(expected[start + 1], tag_length) >= 0x80:  # multi-byte lengths: not this fast path
        return False
    for column, byte in expected.items():
        if not (payloads[:, column] == byte).all():
            return False
    steps = np.zeros(count, dtype=np.int64)
    if varint_length:
        decoded = _decode_steps(payloads, varint_length)
        if decoded is None:
            return False
        steps = decoded
    wall_times = np.ascontiguousarray(payloads[:, 1:9]).view("<f8").reshape(count)
    values = np.ascontiguousarray(payloads[:, length - 4 :]).view("<f4").reshape(count)
    tags = np.ascontiguousarray(payloads[:, start + 6 : length - 5])
    first_tag = tags[0].tobytes()
    if (tags == tags[0]).all():
        on_run(first_tag, wall_times, steps, values)
        return True
    keys = tags.view(f"V{tag_length}").reshape(count)
    unique, inverse = np.unique(keys, return_inverse=True)
    for index, key in enumerate(unique):
        chosen = inverse == index
        on_run(key.tobytes(), wall_times[chosen], steps[chosen], values[chosen])
    return True


def _run_length(data: bytes, array: np.ndarray, pos: int) -> tuple[int, int]:
    """Return `(count, record size)` of the run of equal-header records at `pos` (count 0: none).

    Two byte comparisons rule most non-runs out before numpy looks at up to WINDOW rows.
    """
    record = _LENGTH.unpack_from(data, pos)[0] + tfrecord.FRAMING_SIZE
    count = min(WINDOW, (len(data) - pos) // record)
    if count < MIN_RUN:
        return 0, record
    header = data[pos : pos + tfrecord.HEADER_SIZE]
    for probe in (pos + record, pos + (MIN_RUN - 1) * record):
        if data[probe : probe + tfrecord.HEADER_SIZE] != header:
            return 0, record
    rows = array[pos : pos + count * record].reshape(count, record)
    same = (rows[:, : tfrecord.HEADER_SIZE] == rows[0, : tfrecord.HEADER_SIZE]).all(axis=1)
    count = count if same.all() else int(np.argmin(same))
    return (count, record) if count >= MIN_RUN else (0, record)


def _decode_run(
    data: bytes, array: np.ndarray, pos: int, count: int, record: int, on_run: ScalarRun
) -> bool:
    """Check and decode `count` records of `record` bytes at `pos`; False to go one by one."""
    length = record - tfrecord.FRAMING_SIZE
    if tfrecord.masked_crc32c(data[pos : pos + 8]) != _CRC.unpack_from(data, pos + 8)[0]:
        return False
    rows = array[pos : pos + count * record].reshape(count, record)
    stored = np.ascontiguousarray(rows[:, -tfrecord.FOOTER_SIZE :]).view("<u4").reshape(count)
    crc = google_crc32c.value
    first = pos + tfrecord.HEADER_SIZE
    computed = np.fromiter(
        (crc(data[at : at + length]) for at in range(first, first + count * record, record)),
        dtype=np.uint64,
        count=count,
    )
    if not (tfrecord.mask_crcs(computed) == stored).all():
        return False
    payloads = rows[:, tfrecord.HEADER_SIZE : tfrecord.HEADER_SIZE + length]
    return _decode_scalar_rows(payloads, on_run)


def scan(
    data: bytes,
    on_payload: Callable[[bytes], None],
    on_run: ScalarRun,
    on_progress: Callable[[int], None],
) -> None:
    """Walk the complete records of `data`, reporting each one's end to `on_progress`.

    Runs of plain scalar records go to `on_run(tag_bytes, wall_times, steps, values)`, every
    other record to `on_payload(payload)`, in file order per metric. A torn tail is left alone.
    If a callback or a record fails, `on_progress` has seen the end of the last good record.

    Raises:
        tfrecord.CorruptRecordError: a complete record fails its checks.
    """
    array = np.frombuffer(data, dtype=np.uint8)
    size = len(data)
    pos = 0
    while pos + tfrecord.HEADER_SIZE <= size:
        count, record = _run_length(data, array, pos)
        if count and _decode_run(data, array, pos, count, record, on_run):
            pos += count * record
            on_progress(pos)
            continue
        careful_until = pos + max(count, 1) * record
        for payload, end in tfrecord.iter_payloads(data, pos):
            on_payload(payload)
            pos = end
            on_progress(pos)
            if pos >= careful_until:
                break
        else:
            return  # the end, or a torn tail
