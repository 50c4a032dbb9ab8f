"""A real full disk: the bridge's logdir on a 200 KiB tmpfs, filled up while it runs.

Needs root and permission to mount (skipped with the reason otherwise); `test_write_errors.py`
covers the same path by injecting the errors in-process, wherever the tests run.
"""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest
from durability_support import (
    Http,
    check_points,
    check_with_tensorboard,
    create_experiment,
    get_scalars,
    point,
    scan_event_files,
)

pytestmark = pytest.mark.e2e

XP, METRIC = "filling up", "loss"
FILLER = ".filler"  # a plain file beside the experiments: the bridge ignores it


@pytest.fixture
def logdir(tmp_path: Path):
    """Override: the logdir is a small tmpfs of its own (the server log stays outside it)."""
    path = tmp_path / "logdir"
    path.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(path)],
            check=True,
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        pytest.skip(f"cannot mount a tmpfs here ({exc} {detail.decode(errors='replace')})")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True, timeout=30)


def _fill(directory: Path) -> int:
    """Write a filler file until the file system is full; return its size."""
    chunk = b"\0" * 4096
    fd = os.open(directory / FILLER, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for _ in range(1000):  # 4 MB at most: the tmpfs is far smaller
            try:
                os.write(fd, chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                return os.fstat(fd).st_size
        raise AssertionError("the tmpfs never filled up")
    finally:
        os.close(fd)


def _post(http: Http, steps) -> tuple[int, str]:
    return http.json("POST", "/data/scalars", {"xp": XP, "name": METRIC}, [point(s) for s in steps])


def test_full_disk_answers_507_keeps_files_clean_and_recovers(server_factory, logdir):
    server = server_factory()
    create_experiment(server.url, XP)
    http = Http(server.url)
    try:
        for step in range(20):
            assert _post(http, [step])[0] == 200
        _fill(logdir)

        # A batch fills what is left of the event file's last page, then hits the end: a real
        # partial write, cut off again. Then a new file cannot even get its first record.
        acked, failures = set(range(20)), 0
        for first in range(1000, 1000 + 20 * 400, 400):
            status, text = _post(http, range(first, first + 400))
            assert status in (200, 507), (status, text)
            if status == 200:
                acked |= set(range(first, first + 400))
            else:
                failures += 1
                assert "No space left on device" in text, text
                assert "nothing of this request was stored" in text, text
        assert failures >= 18, "the disk was not full"
        sent = acked | set(range(1000, 9000))
        status, text = http.json("POST", "/data", data="while full")
        assert status == 507 and "No space left on device" in text, (status, text)

        # Reading works while full, and sees only what was acknowledged.
        check_points(get_scalars(server.url, XP, METRIC), acked, acked)
        for scan in scan_event_files(logdir / XP):
            assert not scan.torn, f"{scan.name}: a partial record was left in the file"
        status, names = http.json("GET", "/data")
        assert status == 200 and names == [XP], names
        assert sorted(p.name for p in logdir.iterdir()) == sorted([".crayon-bridge", FILLER, XP])

        (logdir / FILLER).unlink()  # the cause is gone: the bridge recovers by itself
        assert _post(http, range(10_000, 10_400)) == (200, "ok")
        assert _post(http, [10_400]) == (200, "ok")
        create_experiment(server.url, "while full")
        acked |= set(range(10_000, 10_401))
        check_points(get_scalars(server.url, XP, METRIC), acked, acked | sent)
    finally:
        http.close()
    server.stop()
    for scan in scan_event_files(logdir / XP):
        assert not scan.torn, scan.name
    check_with_tensorboard(logdir / XP, METRIC, acked, acked | sent)


def test_backup_upload_to_a_full_disk_answers_507(server_factory, logdir):
    server = server_factory()
    create_experiment(server.url, XP)
    _fill(logdir)
    with Http(server.url) as http:
        status, text = http.request(
            "POST", "/backup", {"xp": XP, "force": "true"}, os.urandom(300_000), "application/zip"
        )
        assert status == 507 and b"No space left on device" in text, (status, text)
        (logdir / FILLER).unlink()
        assert http.json("GET", "/data") == (200, [XP])
    assert not list((logdir / ".crayon-bridge").iterdir()), "the partial upload was left behind"
