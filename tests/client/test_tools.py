"""`crayon-bridge ls | export | import` against a real bridge process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from client_support import BridgeView

from crayon_bridge.client import CrayonClient
from crayon_bridge.tools import main

pytestmark = pytest.mark.e2e


@pytest.fixture
def bridge(live_server) -> Iterator[BridgeView]:
    """A plain HTTP view of the live bridge, to check what it stored."""
    with BridgeView(live_server.url) as view:
        yield view


def _fill(url: str) -> None:
    host, port = url.rsplit(":", 1)
    client = CrayonClient(host, int(port))
    xp = client.create_experiment("run é+1")
    for step in range(5):
        xp.add_scalar_value("loss/train", 1.0 / (step + 1), wall_time=100.0 + step)
    xp.add_scalar_value("acc", 0.5, wall_time=200.0, step=3)
    xp.add_histogram_value("weights", [0.5, 1.5, -2.0], tobuild=True, wall_time=300.0)
    client.create_experiment("empty one")
    client.close()


def test_ls_lists_experiments_and_metrics(live_server, capsys):
    _fill(live_server.url)
    assert main(["ls", "--url", live_server.url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "empty one",
        "  scalars:    -",
        "  histograms: -",
        "run é+1",
        "  scalars:    acc, loss/train",
        "  histograms: weights",
    ]
    assert main(["ls", "-l", "--url", live_server.url, "run é+1"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "run é+1",
        "  scalar     acc         1 point, step 3",
        "  scalar     loss/train  5 points, steps 0..4",
        "  histogram  weights     1 point, step 0",
    ]
    assert main(["ls", "--json", "--url", live_server.url]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "empty one": {"scalars": [], "histograms": []},
        "run é+1": {"scalars": ["acc", "loss/train"], "histograms": ["weights"]},
    }


def test_export_then_import_under_a_new_name_round_trips(live_server, bridge, tmp_path, capsys):
    _fill(live_server.url)
    archive = tmp_path / "run.zip"
    assert main(["export", "run é+1", "-o", str(archive), "--url", live_server.url]) == 0
    assert f"to {archive}" in capsys.readouterr().out
    assert archive.read_bytes()[:2] == b"PK"
    assert not list(tmp_path.glob("*.part"))
    assert main(["import", str(archive), "--as", "copy", "--url", live_server.url]) == 0
    assert "as 'copy'" in capsys.readouterr().out
    assert bridge.everything("copy") == bridge.everything("run é+1")
    # Without --as the name comes from the file name.
    assert main(["import", str(archive), "-q", "--url", live_server.url]) == 0
    assert capsys.readouterr().out == ""
    assert bridge.everything("run") == bridge.everything("run é+1")


def test_import_onto_an_existing_experiment_needs_force(live_server, bridge, tmp_path, capsys):
    _fill(live_server.url)
    url = ["--url", live_server.url]
    archive = tmp_path / "backup.zip"
    assert main(["export", "run é+1", "-o", str(archive), *url]) == 0
    capsys.readouterr()
    assert main(["import", str(archive), "--as", "empty one", *url]) == 1
    error = capsys.readouterr().err
    assert "experiment 'empty one' already exists" in error
    assert "--force" in error
    assert bridge.info("empty one") == {"scalars": [], "histograms": []}
    assert main(["import", str(archive), "--as", "empty one", "--force", *url]) == 0
    assert bridge.everything("empty one") == bridge.everything("run é+1")


def test_errors_are_one_line_with_status_1(live_server, tmp_path, capsys):
    url = ["--url", live_server.url]
    assert main(["export", "nope", "-o", str(tmp_path / "x.zip"), *url]) == 1
    assert "unknown experiment 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "x.zip").exists()
    assert main(["import", str(tmp_path / "missing.zip"), *url]) == 1
    assert "No such file" in capsys.readouterr().err
    assert main(["ls", "--url", "http://127.0.0.1:1"]) == 1
    assert "cannot connect" in capsys.readouterr().err
    assert main(["export"]) == 2  # usage error, printed by argparse


def test_token_from_option_or_environment(server_factory, tmp_path, monkeypatch, capsys):
    server = server_factory("--token", "s3cret")
    assert main(["ls", "--url", server.url]) == 1
    assert "token" in capsys.readouterr().err
    assert main(["ls", "--url", server.url, "--token", "s3cret"]) == 0
    monkeypatch.setenv("CRAYON_BRIDGE_URL", server.url)
    monkeypatch.setenv("CRAYON_BRIDGE_TOKEN", "s3cret")
    assert main(["ls"]) == 0
    assert "no experiments" in capsys.readouterr().out


def test_the_crayon_bridge_command_dispatches_to_the_tools(live_server):
    _fill(live_server.url)
    result = subprocess.run(
        [sys.executable, "-m", "crayon_bridge", "ls", "--url", live_server.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "run é+1" in result.stdout
