"""Helpers shared by the test packages: free ports, a real bridge process, error checks.

A plain module rather than conftest.py: several conftest modules exist, and importing names
from "conftest" would pick whichever was imported first.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

SERVER_START_TIMEOUT = 30.0


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """A `python -m crayon_bridge` process on a free loopback port, for end-to-end tests.

    `stop()` sends SIGTERM (a clean shutdown), `kill()` sends SIGKILL; `start()` starts it again
    on the same logdir and port.
    """

    def __init__(self, logdir: Path, extra_args: tuple[str, ...] = ()) -> None:
        self.logdir = logdir
        self.extra_args = extra_args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self._log_path = logdir.parent / f"server-{self.port}.log"

    def start(self) -> None:
        """Start the process and wait until `GET /` answers."""
        command = [
            sys.executable,
            "-m",
            "crayon_bridge",
            "--logdir",
            str(self.logdir),
            "--port",
            str(self.port),
            "--no-tensorboard",
            *self.extra_args,
        ]
        log = open(self._log_path, "ab")  # noqa: SIM115 - kept open for the child's lifetime
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"bridge exited with {self.process.returncode}:\n{self.output}"
                )
            try:
                with urllib.request.urlopen(self.url + "/", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        raise AssertionError(
            f"bridge did not answer within {SERVER_START_TIMEOUT}s:\n{self.output}"
        )

    @property
    def output(self) -> str:
        """Everything the process printed so far."""
        try:
            return self._log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _end(self, sig: int) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
        code = self.process.wait(timeout=30)
        self.process = None
        return code

    def stop(self) -> int:
        """Stop with SIGTERM and return the exit code."""
        return self._end(signal.SIGTERM)

    def kill(self) -> int:
        """Stop with SIGKILL, as a crash would."""
        return self._end(signal.SIGKILL)

    def restart(self) -> None:
        """Stop cleanly and start again on the same logdir and port."""
        self.stop()
        self.start()


async def assert_api_error(response, status: int, *fragments: str) -> str:
    """Assert an error answer: its status, text/plain, and that its message holds `fragments`."""
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "text/plain", response.content_type
    assert text.strip(), "an error answer must carry a message"
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    return text
