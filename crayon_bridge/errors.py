"""Errors a client can act on, each carrying the HTTP status it is answered with.

Only `app.error_middleware` turns them into responses. Messages never contain server paths.
"""

from __future__ import annotations

from http import HTTPStatus

_ECHO_LIMIT = 80


def clip(value: object, limit: int = _ECHO_LIMIT) -> str:
    """Return `repr(value)` cut to `limit` characters, for echoing user input in messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ApiError(Exception):
    """An error answered with `status` and a one-line, human-readable message."""

    status: HTTPStatus = HTTPStatus.BAD_REQUEST

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ApiError):
    """The request is malformed: wrong parameters, body shape or values."""

    status = HTTPStatus.BAD_REQUEST


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


class StorageError(ApiError):
    """The bridge could not write to its logdir (disk full, permissions); nothing was stored."""

    status = HTTPStatus.INSUFFICIENT_STORAGE
