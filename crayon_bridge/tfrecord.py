"""TFRecord framing: the container format of TensorBoard event files.

A record on disk is, little-endian:

    uint64  length of the payload
    uint32  masked CRC32C of those 8 length bytes
    bytes   the payload (one serialized `Event`)
    uint32  masked CRC32C of the payload

A record is always written with one `write` call, so a crash leaves at worst one torn record at
the end of a file, which readers skip and never mistake for data.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterator

import google_crc32c
import numpy as np

HEADER_SIZE = 12  # length + its CRC
FOOTER_SIZE = 4  # payload CRC
FRAMING_SIZE = HEADER_SIZE + FOOTER_SIZE

_LENGTH = struct.Struct("<Q")
_HEADER = struct.Struct("<QI")
_CRC = struct.Struct("<I")
_MASK_DELTA = 0xA282EAD8


class CorruptRecordError(ValueError):
    """A complete record whose length or payload CRC does not match: the file is damaged."""


def mask(crc: int) -> int:
    """Return TensorFlow's masked form of a CRC32C (rotated right by 15, plus a delta)."""
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """Return TensorFlow's masked CRC32C of `data`."""
    return mask(google_crc32c.value(data))


@functools.lru_cache(maxsize=4096)
def _header(length: int) -> bytes:
    """The 12 header bytes of a record of `length` (records of a metric share a few lengths)."""
    packed = _LENGTH.pack(length)
    return packed + _CRC.pack(masked_crc32c(packed))


def frame(payload: bytes) -> bytes:
    """Return `payload` framed as one TFRecord."""
    return _header(len(payload)) + payload + _CRC.pack(masked_crc32c(payload))


def iter_payloads(buffer: bytes, start: int = 0) -> Iterator[tuple[bytes, int]]:
    """Yield `(payload, end_offset)` for each complete record in `buffer` from `start`.

    Stops quietly at a torn tail (a record whose bytes are not all there yet): the caller resumes
    from the last `end_offset` once more bytes arrive.

    Raises:
        CorruptRecordError: a complete record fails its CRC check.
    """
    size = len(buffer)
    pos = start
    unpack_header = _HEADER.unpack_from
    unpack_crc = _CRC.unpack_from
    while pos + HEADER_SIZE <= size:
        length, length_crc = unpack_header(buffer, pos)
        end = pos + HEADER_SIZE + length + FOOTER_SIZE
        if end > size:
            if masked_crc32c(buffer[pos : pos + 8]) != length_crc:
                raise CorruptRecordError(f"bad length checksum at offset {pos}")
            return
        payload = buffer[pos + HEADER_SIZE : end - FOOTER_SIZE]
        if masked_crc32c(payload) != unpack_crc(buffer, end - FOOTER_SIZE)[0]:
            if masked_crc32c(buffer[pos : pos + 8]) != length_crc:
                raise CorruptRecordError(f"bad length checksum at offset {pos}")
            raise CorruptRecordError(f"bad payload checksum at offset {pos}")
        yield payload, end
        pos = end


def mask_crcs(crcs: np.ndarray) -> np.ndarray:
    """Return TensorFlow's masked form of many CRC32C values at once."""
    crcs = crcs.astype(np.uint64)
    rotated = ((crcs >> 15) | (crcs << 17)) & 0xFFFFFFFF
    return ((rotated + _MASK_DELTA) & 0xFFFFFFFF).astype("<u4")


class FramingCheck:
    """Checks the framing of an event file as it streams by, chunk after chunk.

    For uploads: junk fails at its first record instead of after gigabytes are written. A torn
    last record passes (a reader skips it); every complete record's checksums must match.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()  # the header or footer being collected
        self._payload_left = -1  # -1: collecting a header; otherwise payload bytes still due
        self._crc = 0

    def feed(self, chunk: bytes) -> None:
        """Check the next bytes of the file.

        Raises:
            CorruptRecordError: a record's length or payload checksum does not match.
        """
        view = memoryview(chunk)
        while view:
            if self._payload_left < 0:
                view = self._collect(view, HEADER_SIZE)
                if len(self._buffer) == HEADER_SIZE:
                    length, length_crc = _HEADER.unpack(self._buffer)
                    if masked_crc32c(bytes(self._buffer[:8])) != length_crc:
                        raise CorruptRecordError("a bad record length checksum")
                    self._buffer.clear()
                    self._payload_left, self._crc = length, 0
            elif self._payload_left > 0:
                part = view[: self._payload_left]
                self._crc = google_crc32c.extend(self._crc, bytes(part))
                self._payload_left -= len(part)
                view = view[len(part) :]
            else:
                view = self._collect(view, FOOTER_SIZE)
                if len(self._buffer) == FOOTER_SIZE:
                    if _CRC.unpack(self._buffer)[0] != mask(self._crc):
                        raise CorruptRecordError("a bad record checksum")
                    self._buffer.clear()
                    self._payload_left = -1

    def _collect(self, view: memoryview, size: int) -> memoryview:
        take = size - len(self._buffer)
        self._buffer += view[:take]
        return view[take:]
