"""Exceptions and warnings of the client, shaped so pycrayon's `except` clauses keep working."""

from __future__ import annotations


class CrayonError(ValueError):
    """A request the bridge refused (`status` is its HTTP status) or could not answer (`None`).

    It subclasses `ValueError` because that is what pycrayon 0.5 raises for every failed request.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return self.message


class CrayonConnectionError(CrayonError, ConnectionError):
    """The bridge could not be reached, or the connection broke before its answer arrived.

    `maybe_sent` is true when the request may have reached the bridge (and may have been stored)
    although no answer came: a retry could then store the same points twice.
    """

    def __init__(self, message: str, *, maybe_sent: bool = False) -> None:
        super().__init__(message, None)
        self.maybe_sent = maybe_sent


class IncompatibleServerError(CrayonError, RuntimeError):
    """The server does not answer `GET /` with the API version pycrayon 0.5 expects.

    It is also a `RuntimeError`, which is what pycrayon 0.5 raises in this case.
    """


class DeliveryWarning(UserWarning):
    """A `SummaryWriter` could not deliver some points (see its `dropped` attribute)."""
