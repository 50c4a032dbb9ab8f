"""The client benchmark runs end to end (tiny sizes; no speed is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "client_bench.py"


@pytest.mark.e2e
def test_client_bench_smoke_prints_its_table(live_server):
    result = subprocess.run(
        [sys.executable, str(BENCH), "--smoke", "--url", live_server.url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("| measure")
    for label in (
        "SummaryWriter.add_scalar, caller's thread, median",
        "SummaryWriter.add_scalar, caller's thread, p99",
        "SummaryWriter delivery",
        "stock pycrayon 0.5 add_scalar_value",
        "crayon_bridge CrayonClient add_scalar_value",
        "SummaryWriter / stock pycrayon",
    ):
        assert any(line.startswith(f"| {label}") for line in lines), label
    # The benchmark cleans up after itself on a bridge it did not start.
    listing = subprocess.run(
        [sys.executable, "-m", "crayon_bridge", "ls", "--url", live_server.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "bench-" not in listing.stdout
