"""Optional py-spy profiles of the bridge during chosen benchmark runs (run.py --profile DIR)."""

from __future__ import annotations

import collections
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RATE = 250
ATTACH_TIMEOUT = 15.0
LINE_NUMBER = re.compile(r":\d+\)$")
PROJECT = "crayon_bridge/"


def py_spy_path() -> str | None:
    """The py-spy executable next to this Python or on PATH, or None."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextmanager
def py_spy(pid: int, out: Path) -> Iterator[None]:
    """Sample `pid` with py-spy (collapsed stacks in `out`) while the block runs."""
    command = [
        py_spy_path() or "py-spy",
        "record",
        "--pid",
        str(pid),
        "--rate",
        str(RATE),
        "--nonblocking",
        "--format",
        "raw",
        "--output",
        str(out),
    ]
    log_path = out.with_suffix(".log")
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_sampling(process, log_path)
        yield
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_until_sampling(process: subprocess.Popen[bytes], log_path: Path) -> None:
    """Wait until py-spy says it samples, has died, or ATTACH_TIMEOUT has passed."""
    deadline = time.monotonic() + ATTACH_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        if "Sampling process" in log_path.read_text(errors="replace"):
            return
        time.sleep(0.02)


def summarize(raw: Path, top: int = 12) -> str:
    """Top functions by own samples and project functions by inclusive samples, from raw."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [LINE_NUMBER.sub(")", frame) for frame in stack.split(";")]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            if PROJECT in frame:
                inclusive[frame] += count
    if not total:
        return f"{raw.name}: no samples"
    lines = [f"{raw.name}: {total} samples at {RATE} Hz", "  own time:"]
    lines += [f"    {n / total:6.1%}  {frame}" for frame, n in own.most_common(top)]
    lines.append(f"  inclusive time, {PROJECT} frames:")
    lines += [f"    {n / total:6.1%}  {frame}" for frame, n in inclusive.most_common(top)]
    return "\n".join(lines)
