"""Event encoding: the hand-written scalar encoder equals protobuf's, and decoding round-trips."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2

from crayon_bridge import events
from crayon_bridge.models import Histogram, HistogramPoint, ScalarPoint

CASES = [
    (1500000000.123, 0, 0.0, "loss"),
    (0.0, 1, -1.5, "a/b c"),
    (1.0, 2**63 - 1, math.nan, "é" * 40),
    (2.5, 300, math.inf, "x" * 200),
    (3.5, 127, 1e39, "big"),
    (4.5, 128, -1e-45, "tiny"),
]


def protobuf_scalar(wall_time, step, value, tag) -> bytes:
    event = event_pb2.Event(wall_time=wall_time, step=step)
    event.summary.value.add(tag=tag, simple_value=value)
    return event.SerializeToString()


@pytest.mark.parametrize(("wall_time", "step", "value", "tag"), CASES)
def test_scalar_payload_equals_protobuf_serialisation(wall_time, step, value, tag):
    payload = events.scalar_payload(events.scalar_prefix(tag), ScalarPoint(wall_time, step, value))
    assert payload == protobuf_scalar(wall_time, step, value, tag)


@pytest.mark.parametrize(("wall_time", "step", "value", "tag"), CASES)
def test_fast_and_protobuf_decoding_agree(wall_time, step, value, tag):
    payload = protobuf_scalar(wall_time, step, value, tag)
    [decoded] = events.EventDecoder().decode(payload)
    expected = events.to_float32(value)
    assert decoded.tag == tag
    assert (decoded.scalar.wall_time, decoded.scalar.step) == (wall_time, step)
    assert math.isnan(expected) or decoded.scalar.value == expected
    fast = events.parse_simple_scalar(payload)
    if fast is not None:  # the fast path may decline; when it answers it must agree
        assert fast[:3] == (wall_time, step, tag.encode())
        assert math.isnan(expected) or fast[3] == expected


def test_fast_path_handles_the_common_shape():
    payload = protobuf_scalar(1.0, 12345, 0.5, "loss")
    assert events.parse_simple_scalar(payload) == (1.0, 12345, b"loss", 0.5)


def test_to_float32_rounds_and_saturates_to_infinity():
    assert events.to_float32(0.1) == float(np.float32(0.1))
    assert events.to_float32(1e39) == math.inf
    assert events.to_float32(-1e300) == -math.inf


def test_histogram_payload_round_trips():
    histogram = Histogram(-1.0, 2.0, 3.0, 1.0, 5.0, (0.0, 2.0), (1.0, 2.0))
    payload = events.histogram_payload("w", HistogramPoint(7.0, 3, histogram))
    [decoded] = events.EventDecoder().decode(payload)
    assert decoded.tag == "w" and decoded.histogram == HistogramPoint(7.0, 3, histogram)


def test_file_version_event_names_format_and_writer():
    event = event_pb2.Event.FromString(events.file_version_payload(12.0))
    assert event.file_version == "brain.Event:2"
    assert event.source_metadata.writer == "crayon_bridge"
