"""`kill -9` of a real bridge process mid-stream loses no acknowledged point and writes no garbage.

Concurrent writers post single points and batches to one experiment and metric; the bridge is
killed with SIGKILL while they write, restarted on the same logdir, and everything that got a 200
must be there exactly once, in the bridge's answer and in TensorBoard's own loaders. Two rounds:
the second writes after a restart, into a new file, and is killed too.
"""

from __future__ import annotations

import hashlib

import pytest
from durability_support import (
    LoadWriters,
    check_points,
    check_with_tensorboard,
    create_experiment,
    get_scalars,
    scan_event_files,
)

pytestmark = pytest.mark.e2e

XP, METRIC = "crash run", "train/loss"
ROUNDS = 2
KILL_AFTER_POINTS = 8_000  # per round; each writer's requests are bounded as well


def _digests(scans) -> dict[str, str]:
    return {scan.name: hashlib.sha256(scan.data).hexdigest() for scan in scans}


def test_sigkill_mid_stream_loses_no_acknowledged_point(server_factory, logdir):
    server = server_factory()
    create_experiment(server.url, XP)
    acked: set[int] = set()
    sent: set[int] = set()
    figures = []
    earlier_files: dict[str, str] = {}
    for round_number in range(ROUNDS):
        load = LoadWriters(
            server.url, XP, METRIC, writers=6, first_writer=10 * round_number, duration=20
        ).start()
        load.wait_for_acks(KILL_AFTER_POINTS, timeout=20)
        server.kill()  # mid-stream: every writer is between requests or waiting for an answer
        load.join()
        statuses = load.statuses()
        assert set(statuses) <= {200, None}, statuses  # only acks, and no answer after the kill
        assert statuses[None] >= 1, "the kill came after the writers stopped"
        acked |= load.acked()
        sent |= load.sent()

        scans = scan_event_files(logdir / XP)  # raises on any damaged complete record
        digests = _digests(scans)
        # A restarted bridge never touches the files of the process before (torn tail or not).
        assert {name: digests.get(name) for name in earlier_files} == earlier_files
        earlier_files = digests

        server.start()
        rows = get_scalars(server.url, XP, METRIC)
        check_points(rows, acked, sent)
        figures.append(
            f"round {round_number + 1}: {len(load.acked())} points acknowledged in "
            f"{statuses[200]} requests, {statuses[None]} requests unanswered at the kill; "
            f"after restart {len(rows)} points found in total ({len(acked)} acknowledged so "
            f"far), {len(scans)} event files, torn tails: {sum(s.torn for s in scans)}"
        )
    server.stop()
    digests = _digests(scan_event_files(logdir / XP))
    assert {name: digests.get(name) for name in earlier_files} == earlier_files
    files = check_with_tensorboard(logdir / XP, METRIC, acked, sent)
    assert files >= ROUNDS, "each process start must write to a new file"
    print("\n" + "\n".join(figures))
