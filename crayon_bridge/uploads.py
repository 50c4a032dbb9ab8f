"""Receiving an uploaded archive to a file, as a raw body or as a multipart field `archive`.

The body is streamed to disk in chunks and cut off at the size limit, so a large upload never
sits in memory and an oversized one is refused as soon as it passes the limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import BodyPartReader, web

from .errors import BadRequest, PayloadTooLarge

ARCHIVE_FIELD = "archive"
_CHUNK = 256 << 10


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the archive is larger than the upload limit of {limit} bytes")


async def _part_chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(_CHUNK):
        yield chunk


async def _archive_chunks(request: web.Request) -> AsyncIterator[bytes]:
    if not request.content_type.startswith("multipart/"):
        async for chunk in request.content.iter_chunked(_CHUNK):
            yield chunk
        return
    reader = await request.multipart()
    async for part in reader:
        if isinstance(part, BodyPartReader) and part.name == ARCHIVE_FIELD:
            async for chunk in _part_chunks(part):
                yield chunk
            return
        await part.release()
    raise BadRequest(f"multipart upload has no field named {ARCHIVE_FIELD!r}")


async def receive_archive(request: web.Request, path: Path, limit: int) -> None:
    """Write the uploaded archive to `path`.

    Raises:
        PayloadTooLarge: the upload passes `limit` bytes.
        BadRequest: a multipart body without an `archive` field, or an empty upload.
    """
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    received = 0
    with open(path, "xb") as out:
        async for chunk in _archive_chunks(request):
            received += len(chunk)
            if received > limit:
                raise _too_large(limit)
            out.write(chunk)
    if received == 0:
        raise BadRequest("the upload is empty; send the zip file of a backup")
