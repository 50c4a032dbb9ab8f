"""A real bridge process under a barrage of hostile requests writes nowhere but its logdir."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
import requests
from hostile_support import deflated_zeros, disk_state, handmade_zip, make_zip, staging_leftovers
from hostile_zips import EVENTS, GOOD_RECORD, HOSTILE_ARCHIVES

TIMEOUT = 30


def listing(directory: Path) -> list[str]:
    """Return every path under `directory`, hidden ones included."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


@pytest.mark.e2e
def test_hostile_barrage_writes_only_inside_the_logdir(
    server_factory, logdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HOME and TMPDIR stay empty, the experiment keeps its bytes, the staging area empties."""
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    for variable in ("HOME", "TMPDIR", "TMP", "TEMP"):
        monkeypatch.setenv(variable, str(home if variable == "HOME" else tmp))
    server = server_factory()
    url = server.url
    with requests.Session() as http:
        assert http.post(url + "/data", json="base", timeout=TIMEOUT).status_code == 200
        resp = http.post(url + "/data/scalars?xp=base&name=loss", json=[1, 0, 2], timeout=TIMEOUT)
        assert resp.status_code == 200
        backup = http.get(url + "/backup?xp=base", timeout=TIMEOUT).content
        before_api = http.get(url + "/data/scalars?xp=base&name=loss", timeout=TIMEOUT).content
        before_disk = disk_state(logdir / "base")

        refused = 0
        for build, status, _ in HOSTILE_ARCHIVES.values():
            body = build()
            resp = http.post(url + "/backup?xp=base&force=true", data=body, timeout=TIMEOUT)
            assert resp.status_code == status, resp.text
            files = {"archive": ("backup.zip", io.BytesIO(body))}
            resp = http.post(url + "/backup?xp=base&force=true", files=files, timeout=TIMEOUT)
            assert resp.status_code == status, resp.text
            refused += 2
        bomb = handmade_zip(EVENTS, *deflated_zeros(b"", 1024))
        resp = http.post(url + "/backup?xp=base&force=true", data=bomb, timeout=TIMEOUT)
        assert resp.status_code == 400, resp.text
        created = {".crayon-bridge", "base", "copy"}
        for name in ("../x", "/etc/passwd", "~", "$HOME", ".crayon-bridge", "%2E%2E", "a\\b"):
            resp = http.post(url + "/data", json=name, timeout=TIMEOUT)
            assert resp.status_code in (200, 400), resp.text
            if resp.status_code == 200:
                created.add(name)
            resp = http.delete(url + f"/data?xp={name}x", timeout=TIMEOUT)
            assert resp.status_code in (400, 404), resp.text
        # The good archive still restores, onto a new name and over the old one.
        for target in ("copy", "base"):
            resp = http.post(url + f"/backup?xp={target}&force=true", data=backup, timeout=TIMEOUT)
            assert resp.status_code == 200, resp.text
        after_api = http.get(url + "/data/scalars?xp=base&name=loss", timeout=TIMEOUT).content
    assert refused > 60
    assert after_api == before_api
    server.stop()
    assert listing(home) == [] and listing(tmp) == []
    assert staging_leftovers(logdir) == []
    restored = disk_state(logdir / "base")
    assert sorted(restored.values()) == sorted(before_disk.values())
    assert set(os.listdir(logdir)) == created


@pytest.mark.e2e
def test_restored_archive_files_cannot_point_outside(server_factory, logdir: Path) -> None:
    """After a barrage of slips and links nothing under the logdir is a link or special file."""
    server = server_factory()
    for name in ("../../escape.tfevents", "sub/../../escape.tfevents"):
        archive = make_zip([(EVENTS, GOOD_RECORD), (name, GOOD_RECORD)])
        resp = requests.post(server.url + "/backup?xp=x&force=true", data=archive, timeout=30)
        assert resp.status_code == 400
    info = zipfile.ZipInfo("events.out.tfevents.link")
    info.create_system = 3
    info.external_attr = 0o120777 << 16
    archive = make_zip([(info, b"/etc/passwd")])
    resp = requests.post(server.url + "/backup?xp=x&force=true", data=archive, timeout=30)
    assert resp.status_code == 400
    assert not (logdir.parent / "escape.tfevents").exists()
    for path in logdir.rglob("*"):
        assert not path.is_symlink() and (path.is_file() or path.is_dir()), path
