"""Benchmark server processes: pinned to a core, measured via /proc, stopped by PID."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

START_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class ServerError(RuntimeError):
    """A server process did not start, died, or answered something unexpected."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pin_prefix(cpu: int | None) -> list[str]:
    """Return the `taskset -c CPU` prefix, or nothing when pinning is off or impossible."""
    if cpu is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", str(cpu)]


def cpu_seconds(pid: int) -> float:
    """CPU time of a process (all its threads, live and exited), to the nanosecond.

    Reads the process's CPU-time clock (Linux clock id `(~pid << 3) | 2`); falls back on
    utime + stime from /proc/PID/stat, which count in clock ticks (10 ms).
    """
    try:
        return time.clock_gettime_ns((~pid << 3) | 2) / 1e9
    except OSError:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from VmRSS in /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise ServerError(f"no VmRSS for PID {pid}")


class Server:
    """One server process on a free loopback port, optionally pinned to a CPU.

    `command` is a template: `{python}`, `{logdir}` and `{port}` are filled in.
    """

    def __init__(self, name: str, command: str, logdir: Path, cpu: int | None) -> None:
        self.name = name
        self.command = command
        self.logdir = logdir
        self.cpu = cpu
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = logdir.parent / f"{name}-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.start_seconds = 0.0

    @property
    def pid(self) -> int:
        """PID of the running process."""
        if self.process is None:
            raise ServerError(f"{self.name} is not running")
        return self.process.pid

    def argv(self) -> list[str]:
        """The command line, with placeholders filled in and the pinning prefix."""
        filled = self.command.format(python=sys.executable, logdir=self.logdir, port=self.port)
        return pin_prefix(self.cpu) + shlex.split(filled)

    def start(self) -> None:
        """Start the process and wait until `GET /` answers `0.5`."""
        self.logdir.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv(), stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).parent.parent
            )
        while time.monotonic() - began < START_TIMEOUT:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise ServerError(f"{self.name} exited with {code}:\n{self.log_tail()}")
            if self._answers_version():
                self.start_seconds = time.monotonic() - began
                return
            time.sleep(0.05)
        self.stop()
        raise ServerError(f"{self.name} did not answer GET / in {START_TIMEOUT}s")

    def _answers_version(self) -> bool:
        """Whether `GET /` answers 200 with body `0.5` right now."""
        try:
            with urllib.request.urlopen(self.url + "/", timeout=2) as resp:
                body = resp.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False
        if body.strip() != b"0.5":
            raise ServerError(f"{self.name}: GET / answered {body[:100]!r}, not 0.5")
        return True

    def stop(self) -> None:
        """Stop the process with SIGTERM (SIGKILL if it does not exit in time)."""
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)

    def restart(self) -> None:
        """Stop and start again on the same logdir and port."""
        self.stop()
        self.start()

    def cpu_seconds(self) -> float:
        """CPU time the process has used so far."""
        return cpu_seconds(self.pid)

    def rss_bytes(self) -> int:
        """Resident memory of the process now."""
        return rss_bytes(self.pid)

    def check_alive(self) -> None:
        """Raise if the process has exited."""
        if self.process is not None and self.process.poll() is not None:
            code = self.process.returncode
            self.process = None
            raise ServerError(f"{self.name} died with {code}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the process printed."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
