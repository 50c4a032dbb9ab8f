"""Receiving an uploaded archive to a file, as a raw body or as a multipart field `archive`.

The body is streamed to disk in chunks and cut off at the size limit, so a large upload never
sits in memory and an oversized one is refused as soon as it passes the limit. A compressed
`Content-Encoding` is refused: a zip is compressed already, and a gzip bomb would otherwise make a
small request write up to the limit to disk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from .errors import (
    BadRequest,
    PayloadTooLarge,
    StorageError,
    UnsupportedMediaType,
    clip,
    describe,
    os_reason,
)

ARCHIVE_FIELD = "archive"
_CHUNK = 256 << 10
_IDENTITY = ("", "identity")
# What aiohttp raises on a malformed multipart body or an undecodable request body.
_MALFORMED = (ValueError, RuntimeError, HttpProcessingError, RequestPayloadError)


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
            if part.headers.get("Content-Encoding", "").strip().lower() not in _IDENTITY:
                raise _encoded(part.headers["Content-Encoding"])
            async for chunk in _part_chunks(part):
                yield chunk
            return
        await part.release()
    raise BadRequest(f"multipart upload has no field named {ARCHIVE_FIELD!r}")


def _encoded(encoding: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"Content-Encoding {clip(encoding)} is not accepted for a backup; send the zip file as "
        "it is (it is compressed already)"
    )


async def receive_archive(request: web.Request, path: Path, limit: int) -> None:
    """Write the uploaded archive to `path`.

    Raises:
        PayloadTooLarge: the upload passes `limit` bytes.
        UnsupportedMediaType: the body has a compressed Content-Encoding.
        BadRequest: a malformed multipart body, one without an `archive` field, or an empty
            upload.
    """
    if request.headers.get("Content-Encoding", "").strip().lower() not in _IDENTITY:
        raise _encoded(request.headers["Content-Encoding"])
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    received = 0
    try:  # around the `with`: a full disk may only show when the file is closed
        with open(path, "xb") as out:
            try:
                async for chunk in _archive_chunks(request):
                    received += len(chunk)
                    if received > limit:
                        raise _too_large(limit)
                    out.write(chunk)
            except _MALFORMED as exc:
                raise BadRequest(
                    f"the upload could not be read ({describe(exc)}); send the zip as a raw "
                    f"application/zip body or as the multipart form field {ARCHIVE_FIELD!r}"
                ) from exc
    except OSError as exc:
        raise StorageError(
            f"could not store the upload in the logdir: {os_reason(exc)}; "
            "nothing was changed, retry once the cause is fixed"
        ) from exc
    if received == 0:
        raise BadRequest("the upload is empty; send the zip file of a backup")
