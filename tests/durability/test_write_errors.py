"""Write errors (disk full, permission denied, I/O error), injected into the writer's `os` calls.

A failed write answers 507 with the operating system's reason, leaves no partial record in a file
that will be appended to again, and the bridge recovers by itself once the cause is gone: the next
write starts a new event file. Runs in-process; `test_disk_full.py` does the same on a real full
file system. Last, what `--fsync` syncs before it acknowledges.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable

import pytest
from durability_support import check_points, check_with_tensorboard, point, scan_event_files

from crayon_bridge import writer
from crayon_bridge.app import create_app
from crayon_bridge.config import Config
from crayon_bridge.handlers import STORE_KEY

XP, METRIC = "full disk", "loss"


class FaultyOs:
    """Stands in for the `os` module inside `crayon_bridge.writer`, failing as scripted.

    `plan[name]` is a list of actions for the next calls of `os.<name>`; each action is called
    instead of the real function, with it as first argument. Unscripted calls go to `os`.
    """

    def __init__(self) -> None:
        self.plan: dict[str, list[Callable]] = {}
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str):
        real = getattr(os, name)
        if not callable(real):
            return real

        def call(*args, **kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            actions = self.plan.get(name)
            if actions:
                return actions.pop(0)(real, *args, **kwargs)
            return real(*args, **kwargs)

        return call


def fail(code: int) -> Callable:
    def action(real, *args, **kwargs):
        raise OSError(code, os.strerror(code))

    return action


def partial(count: int) -> Callable:
    """A short write: only the first `count` bytes reach the file (as when the disk fills up)."""

    def action(real, fd, data):
        return real(fd, bytes(data[:count]))

    return action


def no_progress(real, fd, data):
    return 0


@pytest.fixture
def faulty_os(monkeypatch) -> FaultyOs:
    fake = FaultyOs()
    monkeypatch.setattr(writer, "os", fake)
    return fake


async def _client(aiohttp_client, logdir, **config):
    client = await aiohttp_client(create_app(Config(logdir=logdir, **config)))
    assert (await client.post("/data", json=XP)).status == 200
    return client


async def _post(client, steps) -> tuple[int, str]:
    response = await client.post(
        "/data/scalars", params={"xp": XP, "name": METRIC}, json=[point(s) for s in steps]
    )
    return response.status, await response.text()


async def _rows(client) -> list:
    response = await client.get("/data/scalars", params={"xp": XP, "name": METRIC})
    assert response.status == 200
    return await response.json()


def _record_size() -> int:
    return len(writer.tfrecord.frame(b"x" * 40))  # a scalar event of this test is about 40 bytes


def _assert_no_partial_record(logdir, allow_torn: int = 0) -> list:
    scans = scan_event_files(logdir / XP)
    assert sum(scan.torn for scan in scans) == allow_torn, [(s.size, s.complete) for s in scans]
    return scans


@pytest.mark.parametrize(
    ("code", "plan"),
    [
        (errno.ENOSPC, [partial(5), fail(errno.ENOSPC)]),  # a few bytes, then the disk is full
        (errno.ENOSPC, [partial(3 * 56 + 7), fail(errno.ENOSPC)]),  # whole records, then full
        (errno.EACCES, [fail(errno.EACCES)]),
        (errno.EIO, [partial(100), no_progress]),  # a write that makes no progress must not hang
    ],
    ids=["enospc-few-bytes", "enospc-records", "eacces", "no-progress"],
)
async def test_failed_write_answers_507_and_stores_nothing(
    aiohttp_client, logdir, faulty_os, code, plan
):
    client = await _client(aiohttp_client, logdir)
    assert (await _post(client, range(10)))[0] == 200
    faulty_os.plan["write"] = plan
    status, text = await _post(client, range(10, 60))
    assert status == 507, text
    assert os.strerror(code) in text and "nothing of this request was stored" in text, text
    (scan,) = _assert_no_partial_record(logdir)
    assert scan.records == 1 + 10
    check_points(await _rows(client), set(range(10)), set(range(10)))

    for first in (60, 110):  # the cause is gone: the next writes are stored, in a new file
        assert (await _post(client, range(first, first + 50)))[0] == 200
    acked = set(range(10)) | set(range(60, 160))
    check_points(await _rows(client), acked, acked)
    first, second = _assert_no_partial_record(logdir)
    assert first == scan, "a file with a failed write must never be appended to again"
    assert second.records == 1 + 100
    check_with_tensorboard(logdir / XP, METRIC, acked, acked)


async def test_reader_that_parsed_a_failed_write_is_not_misled(aiohttp_client, logdir, faulty_os):
    """A GET in a worker thread can parse the whole records of a write that fails afterwards.

    The file is cut back; if later records were appended at the same offsets, that reader would
    resume mid-record, take the file for damaged and hide acknowledged points.
    """
    client = await _client(aiohttp_client, logdir)
    assert (await _post(client, range(10)))[0] == 200
    experiment = client.server.app[STORE_KEY].get(XP)

    def partial_then_concurrent_read(real, fd, data):
        written = real(fd, bytes(data[: 20 * _record_size() + 3]))
        with experiment.reading() as index:  # what a concurrent GET does at this moment
            assert len(index.scalars[METRIC]) > 10
        return written

    faulty_os.plan["write"] = [partial_then_concurrent_read, fail(errno.ENOSPC)]
    assert (await _post(client, range(10, 60)))[0] == 507
    assert (await _post(client, range(60, 200)))[0] == 200
    acked = set(range(10)) | set(range(60, 200))
    check_points(await _rows(client), acked, acked)
    _assert_no_partial_record(logdir)


async def test_failed_cut_back_leaves_a_torn_tail_never_appended_to(
    aiohttp_client, logdir, faulty_os
):
    client = await _client(aiohttp_client, logdir)
    assert (await _post(client, range(10)))[0] == 200
    faulty_os.plan["write"] = [partial(2 * _record_size() + 9), fail(errno.ENOSPC)]
    faulty_os.plan["ftruncate"] = [fail(errno.EIO)]
    assert (await _post(client, range(10, 60)))[0] == 507
    assert (await _post(client, range(60, 100)))[0] == 200
    acked = set(range(10)) | set(range(60, 100))
    sent = set(range(100))
    check_points(await _rows(client), acked, sent)  # the two whole records may be seen
    torn, clean = _assert_no_partial_record(logdir, allow_torn=1)
    assert torn.torn and not clean.torn
    check_with_tensorboard(logdir / XP, METRIC, acked, sent)


async def test_permission_denied_on_a_new_file_then_recovers(aiohttp_client, logdir, faulty_os):
    client = await _client(aiohttp_client, logdir)
    faulty_os.plan["write"] = [fail(errno.ENOSPC)]
    assert (await _post(client, range(10)))[0] == 507
    faulty_os.plan["open"] = [fail(errno.EACCES)]  # the next write needs a new file: refused
    status, text = await _post(client, range(10, 20))
    assert status == 507 and "Permission denied" in text, text
    faulty_os.plan["open"] = [fail(errno.EACCES)]
    response = await client.post("/data", json="another")
    assert response.status == 507 and "Permission denied" in await response.text()
    assert not (logdir / "another").exists()
    assert (await client.get("/data")).status == 200
    assert await (await client.get("/data")).json() == [XP]

    assert (await _post(client, range(20, 30)))[0] == 200
    assert (await client.post("/data", json="another")).status == 200
    check_points(await _rows(client), set(range(20, 30)), set(range(20, 30)))
    assert len(_assert_no_partial_record(logdir)) == 2


async def test_fsync_failure_answers_507_and_cuts_the_write_off(aiohttp_client, logdir, faulty_os):
    client = await _client(aiohttp_client, logdir, fsync=True)
    assert (await _post(client, range(10)))[0] == 200
    faulty_os.plan["fsync"] = [fail(errno.EIO)]
    status, text = await _post(client, range(10, 60))
    assert status == 507 and "Input/output error" in text, text
    (scan,) = _assert_no_partial_record(logdir)
    assert scan.records == 1 + 10
    calls = faulty_os.calls.get("fsync", 0)
    assert (await _post(client, range(60, 100)))[0] == 200
    assert faulty_os.calls["fsync"] >= calls + 3  # the new file, its directory, the write
    acked = set(range(10)) | set(range(60, 100))
    check_points(await _rows(client), acked, acked)
    assert len(_assert_no_partial_record(logdir)) == 2


async def test_fsync_option_syncs_everything_it_acknowledges(aiohttp_client, logdir, monkeypatch):
    """With --fsync, each 200 comes after the data and the directory entries reached the disk."""
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        real_fsync(fd)
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))

    monkeypatch.setattr(os, "fsync", recording_fsync)
    client = await _client(aiohttp_client, logdir, fsync=True)
    (first,) = [str(logdir / XP / scan.name) for scan in scan_event_files(logdir / XP)]
    assert synced == [first, str(logdir / XP), str(logdir)]  # file, its entry, the directory's

    synced.clear()
    assert (await _post(client, range(10)))[0] == 200
    assert synced == [first]

    archive = await (await client.get("/backup", params={"xp": XP})).read()
    synced.clear()
    response = await client.post(
        "/backup",
        params={"xp": "restored", "force": "true"},
        data=archive,
        headers={"Content-Type": "application/zip"},
    )
    assert response.status == 200, await response.text()
    assert str(logdir) == synced[-1]
    assert any(path.endswith(os.path.basename(first)) for path in synced[:-2])


async def test_delete_that_cannot_move_the_directory_keeps_the_experiment(
    aiohttp_client, logdir, monkeypatch
):
    client = await _client(aiohttp_client, logdir)
    assert (await _post(client, range(10)))[0] == 200
    store = client.server.app[STORE_KEY]

    def refuse(directory):
        raise OSError(errno.EBUSY, os.strerror(errno.EBUSY))

    monkeypatch.setattr(store, "_move_to_staging", refuse)
    response = await client.delete("/data", params={"xp": XP})
    assert response.status == 507 and "Device or resource busy" in await response.text()
    monkeypatch.undo()
    assert await (await client.get("/data")).json() == [XP]  # still there, still writable
    assert (await _post(client, range(10, 20)))[0] == 200
    check_points(await _rows(client), set(range(20)), set(range(20)))
    assert (await client.delete("/data", params={"xp": XP})).status == 200
    assert not (logdir / XP).exists()
