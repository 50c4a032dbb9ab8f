"""Errors a client can act on, each carrying the HTTP status it is answered with.

Only `app.bridge_middleware` turns them into responses. Messages never contain server paths.
"""

from __future__ import annotations

import os
import reprlib
from http import HTTPStatus

_ECHO_LIMIT = 80


def _short_repr(limit: int) -> reprlib.Repr:
    short = reprlib.Repr()
    short.maxlevel = 3  # a 1000-deep list must not recurse (RecursionError) or cost much
    short.maxstring = short.maxlong = short.maxother = limit
    short.maxlist = short.maxtuple = short.maxdict = short.maxset = 8
    return short


_SHORT_REPR = _short_repr(_ECHO_LIMIT)


def clip(value: object, limit: int = _ECHO_LIMIT) -> str:
    """Return a `repr` of `value` cut to `limit` characters, for echoing user input in messages.

    Bounded in time and depth whatever the value: huge or deeply nested JSON is elided.
    """
    short = _SHORT_REPR if limit == _ECHO_LIMIT else _short_repr(limit)
    try:
        text = short.repr(value)
    except (ValueError, RecursionError):  # e.g. an int beyond Python's str conversion limit
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def os_reason(exc: OSError) -> str:
    """Return the operating system's words for a failed file operation, without any path."""
    return os.strerror(exc.errno) if exc.errno else str(exc.strerror or exc)


def describe(exc: BaseException) -> str:
    """Return what went wrong in one short line, without a server path (see `os_reason`)."""
    if isinstance(exc, OSError) and exc.errno:
        return os_reason(exc)
    return " ".join(str(exc).split())[:200]


class ApiError(Exception):
    """An error answered with `status` and a one-line, human-readable message."""

    status: HTTPStatus = HTTPStatus.BAD_REQUEST
    # True when the request's connection cannot carry another request (its body was unreadable).
    close_connection = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ApiError):
    """The request is malformed: wrong parameters, body shape or values."""

    status = HTTPStatus.BAD_REQUEST


class UnreadableBody(BadRequest):
    """The body could not be received or decoded; the connection is closed after the answer."""

    close_connection = True


class Unauthorized(ApiError):
    """The request lacks the access token the bridge was started with."""

    status = HTTPStatus.UNAUTHORIZED


class NotFound(ApiError):
    """The experiment or metric does not exist."""

    status = HTTPStatus.NOT_FOUND


class Conflict(ApiError):
    """The request contradicts what exists (a duplicate experiment, a restore without force)."""

    status = HTTPStatus.CONFLICT


class PayloadTooLarge(ApiError):
    """The body, batch, archive or name exceeds a configured limit."""

    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class UnsupportedMediaType(ApiError):
    """The body is sent in an encoding the bridge does not accept."""

    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE


class StorageError(ApiError):
    """The bridge could not write to its logdir (disk full, permissions); nothing was stored."""

    status = HTTPStatus.INSUFFICIENT_STORAGE
