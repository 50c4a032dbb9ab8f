"""TFRecord framing: golden bytes, TensorBoard's reader agrees, torn tails and damage."""

from __future__ import annotations

import struct

import pytest
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as reference_crc
from tensorboard.summary.writer.record_writer import RecordWriter

from crayon_bridge import tfrecord


class _Sink:
    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_frame_golden_bytes():
    # length 3, masked CRC32C of the length, "abc", masked CRC32C of "abc" (TensorFlow's values)
    framed = tfrecord.frame(b"abc")
    assert framed.hex() == "0300000000000000" + "b099490e" + "616263" + "6e57f121"
    assert struct.unpack("<Q", framed[:8])[0] == 3
    assert len(framed) == tfrecord.FRAMING_SIZE + 3


@pytest.mark.parametrize("payload", [b"", b"x", b"\x00" * 1000, bytes(range(256))])
def test_frame_equals_tensorboards_record_writer(payload):
    sink = _Sink()
    RecordWriter(sink).write(payload)
    assert tfrecord.frame(payload) == sink.data
    assert tfrecord.masked_crc32c(payload) == reference_crc(payload)


def test_iter_payloads_round_trip_with_offsets():
    payloads = [b"one", b"", b"three" * 100]
    data = b"".join(tfrecord.frame(p) for p in payloads)
    records = list(tfrecord.iter_payloads(data))
    assert [p for p, _ in records] == payloads
    assert records[-1][1] == len(data)


@pytest.mark.parametrize("cut", [1, 8, 11, 12, 14, 19])
def test_iter_payloads_stops_quietly_at_a_torn_tail(cut):
    good = tfrecord.frame(b"complete")
    torn = tfrecord.frame(b"torn record")[:cut]
    assert list(tfrecord.iter_payloads(good + torn)) == [(b"complete", len(good))]


def test_iter_payloads_raises_on_payload_damage():
    data = bytearray(tfrecord.frame(b"first") + tfrecord.frame(b"second"))
    data[-6] ^= 0xFF  # a byte of "second"
    with pytest.raises(tfrecord.CorruptRecordError, match="payload checksum"):
        list(tfrecord.iter_payloads(bytes(data)))


def test_iter_payloads_raises_on_length_damage():
    data = bytearray(tfrecord.frame(b"first"))
    data[0] = 0x7F  # the length now points past the end, and its CRC no longer matches
    with pytest.raises(tfrecord.CorruptRecordError, match="length checksum"):
        list(tfrecord.iter_payloads(bytes(data)))


@pytest.mark.parametrize("chunk_size", [1, 5, 1000])
def test_framing_check_accepts_good_records_in_any_chunks_and_a_torn_tail(chunk_size):
    data = tfrecord.frame(b"first") + tfrecord.frame(b"x" * 300) + tfrecord.frame(b"torn")[:9]
    check = tfrecord.FramingCheck()
    for start in range(0, len(data), chunk_size):
        check.feed(data[start : start + chunk_size])


@pytest.mark.parametrize(
    ("damage_at", "fragment"), [(0, "length checksum"), (14, "record checksum")]
)
def test_framing_check_refuses_damage_as_it_streams(damage_at, fragment):
    data = bytearray(tfrecord.frame(b"payload") * 2)
    data[len(data) // 2 + damage_at] ^= 0x01
    check = tfrecord.FramingCheck()
    with pytest.raises(tfrecord.CorruptRecordError, match=fragment):
        for start in range(0, len(data), 3):
            check.feed(bytes(data[start : start + 3]))
