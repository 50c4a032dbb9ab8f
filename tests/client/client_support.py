"""Shared tools of the client tests: a plain HTTP view of a bridge, a proxy that loses answers,
and polling with a deadline.

Not a conftest (a second `conftest.py` module would shadow `from conftest import ...` in other
test directories): test modules here import it by name, pytest puts this directory on sys.path.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from crayon_bridge.client._http import HttpSession


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll `predicate` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.02)


class BridgeView:
    """Reads a bridge with plain requests, independently of the client under test."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = HttpSession(url)

    def experiments(self) -> list[str]:
        """`GET /data`."""
        return self.session.get_json("/data")

    def info(self, experiment: str) -> dict[str, list[str]]:
        """`GET /data?xp=`."""
        return self.session.get_json("/data", {"xp": experiment})

    def scalars(self, experiment: str, metric: str) -> list[list[Any]]:
        """`GET /data/scalars` of one metric."""
        return self.session.get_json("/data/scalars", {"xp": experiment, "name": metric})

    def histograms(self, experiment: str, metric: str) -> list[list[Any]]:
        """`GET /data/histograms` of one metric."""
        return self.session.get_json("/data/histograms", {"xp": experiment, "name": metric})

    def __enter__(self) -> BridgeView:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.session.close()

    def everything(self, experiment: str) -> dict[str, Any]:
        """Every series of an experiment, by kind and metric: for comparing two experiments."""
        info = self.info(experiment)
        return {
            "scalars": {name: self.scalars(experiment, name) for name in info["scalars"]},
            "histograms": {name: self.histograms(experiment, name) for name in info["histograms"]},
        }


class AnswerDroppingProxy:
    """A TCP proxy in front of the bridge that can swallow answers: the bridge stores a request
    but the client never hears back (as when the bridge dies between storing and answering).

    Set `drop_answers` to the number of next answers to lose; `dropped` counts the lost ones.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.drop_answers = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        try:
            while data := source.recv(65536):
                if answers and self._take_drop():
                    break
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _take_drop(self) -> bool:
        with self._lock:
            if self.drop_answers <= 0:
                return False
            self.drop_answers -= 1
            self.dropped += 1
            return True

    def __enter__(self) -> AnswerDroppingProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting and close every connection."""
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()
