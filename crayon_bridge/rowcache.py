"""JSON of long scalar series, encoded once per block of points and reused across reads.

A series only grows, so the JSON of its first k*BLOCK points never changes: a read encodes the
unfinished last block (and a partial first block for `after=`) and joins cached blocks for the
rest. The cache is bounded in bytes and forgets the least recently used blocks first, so it is a
fixed cost, not a cost per stored point.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from . import jsonio
from .series import ScalarSeries

BLOCK_POINTS = 16384
DEFAULT_MAX_BYTES = 128 << 20


class RowsCache:
    """Encoded JSON blocks of scalar series, keyed by (series token, block index)."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, block_points: int = BLOCK_POINTS):
        self.max_bytes = max_bytes
        self.block_points = block_points
        self._blocks: OrderedDict[tuple[int, int], bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def _inner(self, series: ScalarSeries, start: int, stop: int) -> bytes:
        """The rows of points `start:stop` without the enclosing brackets."""
        return jsonio.scalar_rows(*series.columns(start, stop))[1:-1]

    def _block(self, series: ScalarSeries, block: int) -> bytes:
        key = (series.token, block)
        with self._lock:
            cached = self._blocks.get(key)
            if cached is not None:
                self._blocks.move_to_end(key)
                return cached
        start = block * self.block_points
        encoded = self._inner(series, start, start + self.block_points)
        with self._lock:
            if key not in self._blocks and len(encoded) <= self.max_bytes:
                self._blocks[key] = encoded
                self._bytes += len(encoded)
                while self._bytes > self.max_bytes:
                    self._bytes -= len(self._blocks.popitem(last=False)[1])
        return encoded

    def series_json(self, series: ScalarSeries, after: int = 0) -> list[bytes]:
        """Return the JSON rows of the points of `series` after the first `after`, in pieces.

        The pieces concatenated are the JSON document; sending them one after the other spares
        copying a long series' JSON into one buffer.
        """
        count = len(series)
        size = self.block_points
        first_block = -(-after // size)
        full_blocks = count // size
        if first_block >= full_blocks:
            return [jsonio.scalar_rows(*series.columns(after, count))]
        parts = []
        if after < first_block * size:
            parts.append(self._inner(series, after, first_block * size))
        parts.extend(self._block(series, block) for block in range(first_block, full_blocks))
        if full_blocks * size < count:
            parts.append(self._inner(series, full_blocks * size, count))
        pieces = [b"["]
        for part in parts:
            pieces += (part, b",")
        pieces[-1] = b"]"
        return pieces
