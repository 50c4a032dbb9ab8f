"""The benchmark (bench/run.py) runs end to end in its smoke mode, so that it cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ROWS = (
    "POST scalar, 1 conn ",
    "POST scalar, 8 conns",
    "POST scalar, 64 conns",
    "POST batch, 1 metric",
    "POST batch, many metrics",
    "POST histogram tobuild",
    "GET series, cold",
    "GET series, warm",
    "GET series, +1 point",
    "RSS above base",
    "RSS per point",
)


@pytest.mark.e2e
@pytest.mark.timeout(240)
def test_bench_smoke_prints_every_row(tmp_path: Path) -> None:
    """`bench/run.py --smoke` exits 0 and prints the table with every row (no speed checks)."""
    out = tmp_path / "bench.md"
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=200,
        cwd=REPO,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    table = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert table and table[0].startswith("| row "), result.stdout
    for name in ROWS:
        rows = [line for line in table if line.startswith(f"| {name}")]
        assert len(rows) == 1, f"row {name!r} missing or repeated:\n{result.stdout}"
        assert "ERROR" not in rows[0], result.stdout
    assert out.read_text() == result.stdout
