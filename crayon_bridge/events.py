"""TensorBoard's vocabulary: turning points into `Event` payloads and payloads back into points.

Scalars are written as `Summary.Value.simple_value` (float32), which both of TensorBoard's loaders
show; a float64 tensor would be dropped by the fast loader (../shared/FACTS.md). Histograms are
written as `Summary.Value.histo` (`HistogramProto`).

The scalar encoder is hand-written because it runs once per logged point: it produces exactly the
bytes `Event.SerializeToString()` would (a unit test pins that), at a fraction of the cost. Decoding
has a matching fast path for events of that exact shape, and falls back to protobuf for anything
else (files written by tensorboardX or TensorFlow, tensor summaries, histograms).
"""

from __future__ import annotations

import logging
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import google_crc32c
import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.util import tensor_util

from . import tfrecord
from .models import Histogram, HistogramPoint, ScalarColumns, ScalarPoint

log = logging.getLogger(__name__)

FILE_VERSION = "brain.Event:2"
WRITER_NAME = "crayon_bridge"
SCALARS_PLUGIN = "scalars"
HISTOGRAMS_PLUGIN = "histograms"

_DOUBLE = struct.Struct("<d")
_FLOAT = struct.Struct("<f")


def _varint(value: int) -> bytes:
    """Return the protobuf varint encoding of a non-negative int (int64 as uint64)."""
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _float32_bytes(value: float) -> bytes:
    try:
        return _FLOAT.pack(value)
    except OverflowError:  # rounds beyond float32's range: store +-inf, as protobuf does
        return _FLOAT.pack(math.copysign(math.inf, value))


def to_float32(value: float) -> float:
    """Return `value` as a `simple_value` holds it: float32-rounded, +-inf beyond its range."""
    return _FLOAT.unpack(_float32_bytes(value))[0]


def _event_prefix(wall_time: float, step: int) -> bytes:
    """Return the `wall_time` and `step` fields of an Event, omitting proto3 defaults."""
    head = b"\x09" + _DOUBLE.pack(wall_time) if wall_time != 0.0 else b""
    if step != 0:
        head += b"\x10" + _varint(step)
    return head


def _length_delimited(field_tag: bytes, body: bytes) -> bytes:
    return field_tag + _varint(len(body)) + body


def scalar_prefix(tag: str) -> bytes:
    """Return the part of a scalar event of `tag` that every point shares; cache it per metric.

    It is the `summary` field up to the float: summary { value { tag: ..., simple_value: ...
    """
    tag_field = _length_delimited(b"\x0a", tag.encode("utf-8"))
    value_length = len(tag_field) + 5  # tag field + 0x15 + float32
    value = b"\x0a" + _varint(value_length)
    return b"\x2a" + _varint(len(value) + value_length) + value + tag_field + b"\x15"


def scalar_payload(prefix: bytes, point: ScalarPoint) -> bytes:
    """Return a serialized `Event` holding one scalar, given `scalar_prefix(tag)`."""
    return _event_prefix(point.wall_time, point.step) + prefix + _float32_bytes(point.value)


def _varint_lengths(steps: np.ndarray) -> np.ndarray:
    """Return the varint length of each (non-negative) step; 0 where the step field is omitted."""
    lengths = np.zeros(len(steps), dtype=np.int64)
    remaining = steps.astype(np.uint64)
    while remaining.any():
        lengths += remaining > 0
        remaining >>= np.uint64(7)
    return lengths


def _exclusive_cumsum(sizes: np.ndarray) -> np.ndarray:
    starts = np.zeros(len(sizes), dtype=np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    return starts


def _scatter(out: np.ndarray, starts: np.ndarray, rows: np.ndarray) -> None:
    """Write row i of `rows` into `out` at offset `starts[i]`."""
    out[starts[:, None] + np.arange(rows.shape[1])] = rows


def scalar_records(prefix: bytes, points: Sequence[ScalarPoint]) -> bytes:
    """Return framed records of scalar events of one metric, one point at a time."""
    if len(points) == 1:  # the common single-point POST, without a generator
        return tfrecord.frame(scalar_payload(prefix, points[0]))
    return b"".join(tfrecord.frame(scalar_payload(prefix, point)) for point in points)


def columns_records(prefixes: Sequence[bytes], columns: ScalarColumns) -> bytes:
    """Return framed records of many scalars at once, byte for byte what `scalar_records` gives.

    Every field of every record is written a whole column at a time into one buffer: the
    records differ only in their step's varint length and their metric's tag, so each record's
    offsets follow from those two. Only the payload CRCs are computed one by one (a C call
    each). The columns hold non-zero wall times, as `ScalarColumns` promises (proto3 would
    omit a zero field).
    """
    count = len(columns)
    prefix_table = np.frombuffer(b"".join(prefixes), dtype=np.uint8)
    prefix_lengths = np.array([len(prefix) for prefix in prefixes], dtype=np.int64)
    prefix_starts = _exclusive_cumsum(prefix_lengths)
    tag = columns.tag_index
    varint_lengths = _varint_lengths(columns.step)
    step_fields = np.where(varint_lengths > 0, varint_lengths + 1, 0)
    my_prefix_lengths = prefix_lengths[tag]
    payload_lengths = 9 + step_fields + my_prefix_lengths + 4
    record_starts = _exclusive_cumsum(payload_lengths + tfrecord.FRAMING_SIZE)
    out = np.empty(int(payload_lengths.sum()) + count * tfrecord.FRAMING_SIZE, dtype=np.uint8)

    # Header: the payload length and its masked CRC (a few distinct lengths, so a few CRCs).
    _scatter(out, record_starts, payload_lengths.astype("<u8").view(np.uint8).reshape(count, 8))
    lengths, which = np.unique(payload_lengths, return_inverse=True)
    length_crcs = np.array(
        [tfrecord.masked_crc32c(struct.pack("<Q", length)) for length in lengths.tolist()],
        dtype="<u4",
    )[which]
    _scatter(out, record_starts + 8, length_crcs.view(np.uint8).reshape(count, 4))

    # Payload: wall_time, step (varint), the metric's summary prefix, the float32 value.
    starts = record_starts + tfrecord.HEADER_SIZE
    out[starts] = 0x09
    _scatter(out, starts + 1, columns.wall_time.astype("<f8").view(np.uint8).reshape(count, 8))
    out[starts[varint_lengths > 0] + 9] = 0x10
    steps = columns.step.astype(np.uint64)
    for index in range(int(varint_lengths.max(initial=0))):
        chosen = varint_lengths > index
        group = (steps[chosen] >> np.uint64(7 * index)) & np.uint64(0x7F)
        more = np.where(varint_lengths[chosen] - 1 > index, 0x80, 0).astype(np.uint64)
        out[starts[chosen] + 10 + index] = group | more
    total = int(my_prefix_lengths.sum())
    within = np.arange(total) - np.repeat(_exclusive_cumsum(my_prefix_lengths), my_prefix_lengths)
    destination = np.repeat(starts + 9 + step_fields, my_prefix_lengths) + within
    out[destination] = prefix_table[np.repeat(prefix_starts[tag], my_prefix_lengths) + within]
    ends = starts + payload_lengths
    _scatter(out, ends - 4, columns.value.astype("<f4").view(np.uint8).reshape(count, 4))

    # Footer: the payload CRCs.
    blob = out.tobytes()
    crc = google_crc32c.value
    payload_crcs = np.fromiter(
        (crc(blob[a:b]) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)),
        dtype=np.uint64,
        count=count,
    )
    _scatter(out, ends, tfrecord.mask_crcs(payload_crcs).view(np.uint8).reshape(count, 4))
    return out.tobytes()


def histogram_payload(tag: str, point: HistogramPoint) -> bytes:
    """Return a serialized `Event` holding one histogram."""
    hist = point.histogram
    proto = summary_pb2.HistogramProto(
        min=hist.min,
        max=hist.max,
        num=hist.num,
        sum=hist.sum,
        sum_squares=hist.sum_squares,
        bucket_limit=hist.bucket_limit,
        bucket=hist.bucket,
    )
    event = event_pb2.Event(wall_time=point.wall_time, step=point.step)
    event.summary.value.add(tag=tag, histo=proto)
    return event.SerializeToString()


def file_version_payload(wall_time: float) -> bytes:
    """Return the first event of every file: the format version and who wrote it."""
    event = event_pb2.Event(wall_time=wall_time, file_version=FILE_VERSION)
    event.source_metadata.writer = WRITER_NAME
    return event.SerializeToString()


def parse_simple_scalar(payload: bytes) -> tuple[float, int, bytes, float] | None:
    """Decode an Event of exactly the shape `scalar_payload` writes, or return None.

    Returns `(wall_time, step, tag_bytes, value)`. Any other shape (or a varint longer than
    this fast path handles) returns None and the caller falls back to protobuf.
    """
    size = len(payload)
    if size < 16 or payload[0] != 0x09:
        return None
    wall_time = _DOUBLE.unpack_from(payload, 1)[0]
    pos = 9
    step = 0
    if payload[pos] == 0x10:
        shift = 0
        pos += 1
        while True:
            if pos >= size:
                return None
            byte = payload[pos]
            step |= (byte & 0x7F) << shift
            pos += 1
            if byte < 0x80:
                break
            shift += 7
            if shift > 63:
                return None
        if step >= 1 << 63:
            return None
    if pos + 6 > size:
        return None
    # summary (0x2a len) > value (0x0a len) > tag (0x0a len tag) + simple_value (0x15 float)
    if (
        payload[pos] != 0x2A
        or payload[pos + 2] != 0x0A
        or payload[pos + 4] != 0x0A
        or payload[pos + 1] != size - pos - 2
    ):
        return None
    tag_len = payload[pos + 5]
    tag_end = pos + 6 + tag_len
    if tag_len >= 0x80 or payload[pos + 3] != tag_len + 7 or tag_end + 5 != size:
        return None
    if payload[tag_end] != 0x15:
        return None
    value = _FLOAT.unpack_from(payload, tag_end + 1)[0]
    return wall_time, step, payload[pos + 6 : tag_end], value


@dataclass(slots=True)
class DecodedValue:
    """One summary value read from an event, already in Crayon's terms."""

    tag: str
    scalar: ScalarPoint | None = None
    histogram: HistogramPoint | None = None


class EventDecoder:
    """Decodes events of any writer, remembering which plugin each tag belongs to.

    TensorFlow writes a tag's plugin metadata only with its first value, so the decoder of one
    experiment must see its events in order.
    """

    def __init__(self) -> None:
        self._plugin_of_tag: dict[str, str] = {}

    def decode(self, payload: bytes) -> list[DecodedValue]:
        """Return the scalars and histograms held by one serialized Event."""
        event = event_pb2.Event.FromString(payload)
        if not event.HasField("summary"):
            return []
        decoded = []
        for value in event.summary.value:
            item = self._decode_value(event, value)
            if item is not None:
                decoded.append(item)
        return decoded

    def _decode_value(
        self, event: event_pb2.Event, value: summary_pb2.Summary.Value
    ) -> DecodedValue | None:
        kind = value.WhichOneof("value")
        if kind == "simple_value":
            point = ScalarPoint(event.wall_time, event.step, value.simple_value)
            return DecodedValue(value.tag, scalar=point)
        if kind == "histo":
            histogram = _histogram_from_proto(value.histo)
            return DecodedValue(
                value.tag, histogram=HistogramPoint(event.wall_time, event.step, histogram)
            )
        if kind == "tensor":
            return self._decode_tensor(event, value)
        return None

    def _decode_tensor(
        self, event: event_pb2.Event, value: summary_pb2.Summary.Value
    ) -> DecodedValue | None:
        plugin = value.metadata.plugin_data.plugin_name
        if plugin:
            self._plugin_of_tag[value.tag] = plugin
        else:
            plugin = self._plugin_of_tag.get(value.tag, "")
        if plugin not in (SCALARS_PLUGIN, HISTOGRAMS_PLUGIN):
            return None
        try:
            array = tensor_util.make_ndarray(value.tensor)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("skipping unreadable tensor for tag %r: %s", value.tag, exc)
            return None
        if array.dtype.kind not in "biuf":  # strings, resources, variants: not a number
            return None
        if plugin == SCALARS_PLUGIN and array.size == 1:
            point = ScalarPoint(event.wall_time, event.step, float(array.reshape(-1)[0]))
            return DecodedValue(value.tag, scalar=point)
        if plugin == HISTOGRAMS_PLUGIN and array.ndim == 2 and array.shape[1] == 3:
            histogram = _histogram_from_buckets(array)
            return DecodedValue(
                value.tag, histogram=HistogramPoint(event.wall_time, event.step, histogram)
            )
        return None


def _histogram_from_proto(proto: summary_pb2.HistogramProto) -> Histogram:
    return Histogram(
        min=proto.min,
        max=proto.max,
        num=proto.num,
        sum=proto.sum,
        sum_squares=proto.sum_squares,
        bucket_limit=tuple(proto.bucket_limit),
        bucket=tuple(proto.bucket),
    )


def _histogram_from_buckets(buckets: np.ndarray) -> Histogram:
    """Turn TensorBoard's tensor form (rows of `[left, right, count]`) into Crayon's shape."""
    buckets = buckets.astype(np.float64)
    if len(buckets) == 0:
        return Histogram(0.0, 0.0, 0.0, 0.0, 0.0, (), ())
    counts = buckets[:, 2]
    return Histogram(
        min=float(buckets[0, 0]),
        max=float(buckets[-1, 1]),
        num=float(counts.sum()),
        sum=0.0,
        sum_squares=0.0,
        bucket_limit=tuple(buckets[:, 1].tolist()),
        bucket=tuple(counts.tolist()),
    )
