"""`GET /backup` while writers post: a consistent snapshot of complete records.

Each zip holds every point acknowledged before its request was sent, exactly once, only complete
records (the project's parser and TensorBoard's loaders read every entry to its end), and each
file is a prefix of the live file; restored under a new name it answers exactly what it holds.
"""

from __future__ import annotations

import time

import pytest
from durability_support import (
    Http,
    LoadWriters,
    check_points,
    check_with_tensorboard,
    create_experiment,
    get_scalars,
    point,
    scalar_points_in,
    scan_bytes,
    scan_event_files,
    zip_members,
)

pytestmark = pytest.mark.e2e

XP, METRIC = "backed up", "loss"
BACKUPS = 3


def _take_backups(url: str, http: Http) -> tuple[LoadWriters, list[tuple[set[int], bytes]]]:
    """Take BACKUPS backups while writers post; return the writers and (acked before, zip)."""
    backups = []
    load = LoadWriters(url, XP, METRIC, writers=6, max_requests=5000, duration=30).start()
    try:
        for number in range(BACKUPS):
            load.wait_for_acks(2000 * (number + 1), timeout=20)
            acked_before = load.acked(before=time.monotonic())
            status, archive = http.request("GET", "/backup", {"xp": XP})
            assert status == 200, archive[:200]
            backups.append((acked_before, archive))
        load.wait_for_acks(2000 * (BACKUPS + 1), timeout=20)  # and more after the last one
    finally:
        load.stop()
    assert set(load.statuses()) == {200}
    return load, backups


def test_backup_during_writes_is_a_consistent_snapshot(server_factory, logdir, tmp_path):
    server = server_factory()
    create_experiment(server.url, XP)
    early = list(range(900_000_000, 900_000_100))  # steps no writer uses
    with Http(server.url) as http:
        status, _ = http.json(
            "POST", "/data/scalars", {"xp": XP, "name": METRIC}, [point(s) for s in early]
        )
        assert status == 200
    server.restart()  # the early points stay in a file of their own: backups hold two files
    with Http(server.url, timeout=60) as http:
        load, backups = _take_backups(server.url, http)
        sent = load.sent() | set(early)
        live = {scan.name: scan.data for scan in scan_event_files(logdir / XP)}
        final_rows = get_scalars(server.url, XP, METRIC)
        check_points(final_rows, load.acked() | set(early), sent)

        for number, (acked_before, archive) in enumerate(backups):
            members = zip_members(archive)
            assert len(members) == 2 and all(name in live for name in members), sorted(members)
            rows = []
            unpacked = tmp_path / f"backup-{number}"
            unpacked.mkdir()
            for name in sorted(members):
                data = members[name]
                assert not scan_bytes(name, data).torn, f"{name}: a torn record in the backup"
                assert live[name].startswith(data), f"{name} is not a snapshot of the live file"
                (unpacked / name).write_bytes(data)
                rows += scalar_points_in(data, METRIC)
            check_points(rows, acked_before | set(early), sent)
            check_with_tensorboard(unpacked, METRIC, acked_before | set(early), sent)
            assert len(rows) < len(final_rows)

            restored = f"restored {number}"
            status, text = http.request(
                "POST", "/backup", {"xp": restored, "force": "true"}, archive, "application/zip"
            )
            assert status == 200, text
            restored_rows = get_scalars(server.url, restored, METRIC)
            assert restored_rows == rows
            assert restored_rows == final_rows[: len(restored_rows)]
            for name, data in members.items():
                assert (logdir / restored / name).read_bytes() == data
