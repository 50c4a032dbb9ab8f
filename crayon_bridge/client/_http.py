"""HTTP plumbing shared by the clients and tools: URLs, one keep-alive connection, error mapping.

Only the standard library is used (`http.client`), so the client installs and imports anywhere.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import select
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import quote, unquote, urlsplit

from crayon_bridge.client.errors import CrayonConnectionError, CrayonError

DEFAULT_URL = "http://127.0.0.1:8889"
DEFAULT_TIMEOUT = 60.0
DEFAULT_CONNECT_TIMEOUT = 10.0

# Methods a server may see twice without harm: retried once after a broken keep-alive connection.
_IDEMPOTENT = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
_MESSAGE_LIMIT = 300
_USER_AGENT = "crayon-bridge-client"

Params = Mapping[str, object]
Body = bytes | BinaryIO | None


@dataclass(frozen=True)
class Endpoint:
    """Where a bridge listens, parsed from a URL such as `http://user:TOKEN@host:8889/prefix`."""

    scheme: str
    host: str
    port: int
    prefix: str
    token: str | None

    @property
    def url(self) -> str:
        """The URL without credentials, for messages."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.prefix}"


def parse_url(url: str, token: str | None = None) -> Endpoint:
    """Parse a bridge URL; a token in its user-info part is used unless `token` is given."""
    if not isinstance(url, str) or not url:
        raise ValueError(f"a bridge URL is required, got {url!r}")
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"bridge URL must start with http:// or https://, got {url!r}")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad port in bridge URL {url!r}") from exc
    if not parts.hostname:
        raise ValueError(f"no host in bridge URL {url!r}")
    if token is None and (parts.password or parts.username):
        token = unquote(parts.password if parts.password is not None else parts.username)
    default_port = 443 if parts.scheme == "https" else 80
    return Endpoint(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or default_port,
        prefix=parts.path.rstrip("/"),
        token=token or None,
    )


def target(path: str, params: Params | None = None) -> str:
    """Return `path?k=v&...` with every value percent-encoded (names may hold `+`, `&`, `/`)."""
    if not params:
        return path
    query = "&".join(
        f"{key}={quote(_query_value(value), safe='')}" for key, value in params.items()
    )
    return f"{path}?{query}"


def _query_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def encode_json(payload: Any) -> bytes:
    """Encode a request body; NaN and infinities become the tokens `NaN`, `Infinity`."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def decode_json(data: bytes) -> Any:
    """Decode an answer body (which may contain `NaN`, `Infinity`, `-Infinity`)."""
    return json.loads(data)


def _is_dropped(conn: http.client.HTTPConnection) -> bool:
    """Tell whether an idle keep-alive connection was closed by the server (it is readable)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _server_message(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace").strip()
    first = text.splitlines()[0] if text else "(empty answer)"
    return first if len(first) <= _MESSAGE_LIMIT else first[: _MESSAGE_LIMIT - 3] + "..."


class HttpSession:
    """One keep-alive HTTP/1.1 connection to a bridge; safe to share, requests are serialised.

    Failures to connect or to send raise `CrayonConnectionError(maybe_sent=False)`: the bridge
    cannot have acted on the request. A connection that breaks after the request was sent raises
    it with `maybe_sent=True`. Answers other than 2xx raise `CrayonError` with the status and the
    bridge's one-line message.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        self.endpoint = parse_url(url, token)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._lock = threading.RLock()
        self._conn: http.client.HTTPConnection | None = None
        self._headers = {"User-Agent": _USER_AGENT, "Accept": "*/*"}
        if self.endpoint.token:
            self._headers["Authorization"] = f"Bearer {self.endpoint.token}"

    @property
    def url(self) -> str:
        """The bridge's URL, without credentials."""
        return self.endpoint.url

    def close(self) -> None:
        """Close the connection (a later request opens a new one)."""
        with self._lock:
            self._drop()

    def __del__(self) -> None:
        # pycrayon users never close a client: close the socket quietly when it goes away.
        conn = self.__dict__.get("_conn")
        if conn is not None:
            conn.close()

    def interrupt(self) -> None:
        """Break a request blocked in another thread (used to bound `SummaryWriter.close`)."""
        conn = self._conn
        sock = conn.sock if conn is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def request(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> bytes:
        """Send one request and return the answer's body; raise `CrayonError` on failure."""
        with self._lock:
            for attempt in (1, 2):
                reused = self._conn is not None
                try:
                    response = self._exchange(method, path, params, body, content_type)
                    data = self._read(response, response.read)
                except CrayonConnectionError as exc:
                    # A keep-alive connection may die between requests: retry once on a fresh one
                    # when the request surely was not acted upon, or is harmless to repeat.
                    safe = not exc.maybe_sent or method in _IDEMPOTENT
                    if attempt == 1 and reused and safe:
                        continue
                    raise
                self._finish(response)
                self._raise_for_status(method, path, response, data)
                return data
        raise AssertionError("unreachable")  # pragma: no cover

    def send_json(
        self, method: str, path: str, params: Params | None = None, payload: Any = None
    ) -> bytes:
        """Send `payload` as a JSON body and return the answer's body (`ok` for a write)."""
        return self.request(method, path, params, encode_json(payload), "application/json")

    def get_json(self, path: str, params: Params | None = None) -> Any:
        """`GET` a JSON answer and decode it."""
        return decode_json(self.request("GET", path, params))

    @contextlib.contextmanager
    def stream(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: Body = None,
        content_type: str | None = None,
        content_length: int | None = None,
    ) -> Iterator[http.client.HTTPResponse]:
        """Send a request (the body may be a file) and yield the 2xx response to read in chunks."""
        with self._lock:
            response = self._exchange(method, path, params, body, content_type, content_length)
            if not 200 <= response.status < 300:
                data = self._read(response, response.read)
                self._finish(response)
                self._raise_for_status(method, path, response, data)
            complete = False
            try:
                yield response
                complete = response.isclosed()
            finally:
                if complete:
                    self._finish(response)
                else:
                    self._drop()

    def read_chunk(self, response: http.client.HTTPResponse, size: int | None) -> bytes:
        """Read up to `size` bytes (all if `None`) of a streamed answer."""
        return self._read(response, lambda: response.read(size))

    def _connection(self) -> http.client.HTTPConnection:
        conn = self._conn
        if conn is not None and _is_dropped(conn):
            self._drop()
            conn = None
        if conn is None:
            factory = (
                http.client.HTTPSConnection
                if self.endpoint.scheme == "https"
                else http.client.HTTPConnection
            )
            conn = factory(self.endpoint.host, self.endpoint.port, timeout=self.connect_timeout)
            try:
                conn.connect()
            except OSError as exc:
                conn.close()
                raise CrayonConnectionError(
                    f"cannot connect to the bridge at {self.url}: {exc}"
                ) from exc
            assert conn.sock is not None
            conn.sock.settimeout(self.timeout)
            self._conn = conn
        return conn

    def _exchange(
        self,
        method: str,
        path: str,
        params: Params | None,
        body: Body,
        content_type: str | None,
        content_length: int | None = None,
    ) -> http.client.HTTPResponse:
        conn = self._connection()
        headers = dict(self._headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        if content_length is not None:
            headers["Content-Length"] = str(content_length)
        url = target(self.endpoint.prefix + path, params)
        try:
            conn.request(method, url, body=body, headers=headers)
        except OSError as exc:
            # The request did not leave whole: the bridge cannot have acted on it.
            self._drop()
            raise CrayonConnectionError(
                f"{method} {path}: connection to {self.url} lost while sending: {exc}"
            ) from exc
        try:
            return conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            raise CrayonConnectionError(
                f"{method} {path}: no answer from {self.url}: {exc!r}", maybe_sent=True
            ) from exc

    def _read(self, response: http.client.HTTPResponse, read: Any) -> bytes:
        try:
            return read()
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            raise CrayonConnectionError(
                f"connection to {self.url} lost while reading the answer: {exc!r}",
                maybe_sent=True,
            ) from exc

    def _finish(self, response: http.client.HTTPResponse) -> None:
        if response.will_close:
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    @staticmethod
    def _raise_for_status(
        method: str, path: str, response: http.client.HTTPResponse, data: bytes
    ) -> None:
        if 200 <= response.status < 300:
            return
        raise CrayonError(
            f"{method} {path}: {response.status} {response.reason}: {_server_message(data)}",
            response.status,
        )
