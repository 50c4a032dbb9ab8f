"""Make docs/tensorboard-scalars.png: stock TensorBoard showing a run logged through the bridge.

Starts the bridge with TensorBoard on a temporary logdir, runs examples/train_numpy.py against it,
waits until TensorBoard lists the run's tags, then renders the scalars dashboard with headless
Chromium (`apt-get install -y chromium`). For the docs only; not run by the tests.

    python scripts/screenshot.py [--output docs/tensorboard-scalars.png] [--steps 300]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXPECTED_TAGS = {"loss/train", "loss/val", "accuracy/train", "accuracy/val", "learning_rate"}
TIMEOUT = 90.0


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch_json(url: str) -> Any:
    """GET a JSON answer, or None if nothing answers yet."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
        return None


def wait_for(what: str, check: Callable[[], Any], process: subprocess.Popen[bytes]) -> Any:
    """Poll `check` until it returns something truthy; fail if the bridge exits or time runs out."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"the bridge exited with {process.returncode} while waiting for {what}"
            )
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what}")


def tags_shown(tensorboard: str, run: str) -> bool:
    """Whether TensorBoard's scalars plugin lists every tag the example logs."""
    tags = fetch_json(f"{tensorboard}/data/plugin/scalars/tags") or {}
    return set(tags.get(run, {})) >= EXPECTED_TAGS


def screenshot(chromium: str, url: str, output: Path) -> None:
    """Render `url` to a PNG with headless Chromium."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--window-size=1400,1000",
            "--virtual-time-budget=20000",
            f"--screenshot={output}",
            url,
        ]
        subprocess.run(command, check=True, capture_output=True, timeout=120)


def main(argv: list[str] | None = None) -> int:
    """Start the bridge, log a run, screenshot TensorBoard, stop the bridge."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "tensorboard-scalars.png")
    parser.add_argument("--steps", type=int, default=300, help="training steps of the example")
    parser.add_argument("--experiment", default="logistic-regression")
    parser.add_argument(
        "--tags", default="loss%7Caccuracy", help="TensorBoard tag filter (URL-encoded regex)"
    )
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    args = parser.parse_args(argv)

    port, tensorboard_port = free_port(), free_port()
    api, tensorboard = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{tensorboard_port}"
    with tempfile.TemporaryDirectory(prefix="screenshot-") as logdir:
        bridge = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "crayon_bridge",
                "--logdir",
                logdir,
                "--port",
                str(port),
                "--tensorboard-port",
                str(tensorboard_port),
                "--log-level",
                "WARNING",
            ],
            cwd=ROOT,
        )
        try:
            wait_for("the bridge", lambda: fetch_json(f"{api}/data") is not None, bridge)
            subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "examples" / "train_numpy.py"),
                    "--url",
                    api,
                    "--experiment",
                    args.experiment,
                    "--steps",
                    str(args.steps),
                ],
                check=True,
                timeout=300,
            )
            wait_for(
                "TensorBoard to show the run",
                lambda: tags_shown(tensorboard, args.experiment),
                bridge,
            )
            args.output.parent.mkdir(parents=True, exist_ok=True)
            screenshot(args.chromium, f"{tensorboard}/#scalars&tagFilter={args.tags}", args.output)
        finally:
            bridge.terminate()
            bridge.wait(timeout=30)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
