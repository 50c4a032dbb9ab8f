"""DELETE while writers post to the experiment, then re-creating it under the same name.

The experiment ends deleted (writers then get 404), nothing else in the logdir is touched, and a
point acknowledged after the DELETE finished (to the re-created experiment) is not lost.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from durability_support import (
    Http,
    LoadWriters,
    check_points,
    check_with_tensorboard,
    create_experiment,
    get_scalars,
    point,
    poll,
)

pytestmark = pytest.mark.e2e

XP, OTHER, METRIC = "victim", "bystander", "loss"
CYCLES = 2


def _tree(logdir: Path) -> dict[str, bytes | None]:
    """Every path under the logdir but the victim's, with file contents (None for directories)."""
    return {
        str(path.relative_to(logdir)): None if path.is_dir() else path.read_bytes()
        for path in sorted(logdir.rglob("*"))
        if path.relative_to(logdir).parts[0] != XP
    }


def _answered_after(load: LoadWriters, since: float, count: int) -> bool:
    return sum(r.sent_at > since and r.status is not None for r in load.snapshot()) >= count


def _delete_and_recreate(server, logdir: Path, http: Http, cycle: int) -> list:
    """One DELETE and re-create under load; return the re-created experiment's rows."""
    load = LoadWriters(
        server.url,
        XP,
        METRIC,
        writers=6,
        first_writer=10 * cycle,
        max_requests=5000,
        duration=20,
        stop_on_no_answer=False,
    ).start()
    try:
        load.wait_for_acks(2000, timeout=20)
        delete_sent = time.monotonic()
        assert http.json("DELETE", "/data", {"xp": XP}) == (200, "ok")
        delete_done = time.monotonic()
        assert not (logdir / XP).exists()
        assert http.json("GET", "/data") == (200, [OTHER])
        poll(lambda: _answered_after(load, delete_done, 30), 20, "answers after the DELETE")
        recreate_sent = time.monotonic()
        create_experiment(server.url, XP)
        recreate_done = time.monotonic()
        poll(
            lambda: len(load.acked()) - len(load.acked(before=recreate_done)) >= 2000,
            20,
            "points acknowledged after the re-create",
        )
    finally:
        load.stop()

    requests = load.snapshot()
    assert {r.status for r in requests} <= {200, 404}, load.statuses()
    between = [r for r in requests if delete_done < r.sent_at and r.answered_at < recreate_sent]
    assert between and all(r.status == 404 for r in between), "writes to a deleted experiment"
    assert all(XP in r.text for r in between)
    after = [r for r in requests if r.sent_at > recreate_done]
    assert after and all(r.status == 200 for r in after)

    # In the re-created experiment: every point acknowledged after the re-create, once; never a
    # point acknowledged before the DELETE began, or refused with 404.
    maybe = {
        s for r in requests if r.status == 200 and r.answered_at > delete_sent for s in r.steps
    }
    acked_after = {s for r in after for s in r.steps}
    rows = get_scalars(server.url, XP, METRIC)
    check_points(rows, acked_after, maybe)
    check_with_tensorboard(logdir / XP, METRIC, acked_after, maybe)
    return rows


@pytest.mark.parametrize("options", [(), ("--fsync",)], ids=["page-cache", "fsync"])
def test_delete_during_writes_then_recreate(server_factory, logdir, options):
    """With --fsync the appends run in worker threads, racing the DELETE's thread."""
    server = server_factory(*options)
    for name in (XP, OTHER):
        create_experiment(server.url, name)
    with Http(server.url) as http:
        status, _ = http.json(
            "POST", "/data/scalars", {"xp": OTHER, "name": METRIC}, [point(s) for s in range(500)]
        )
        assert status == 200
        untouched = _tree(logdir)
        for cycle in range(CYCLES):
            if cycle:  # start each cycle from an empty experiment
                assert http.json("DELETE", "/data", {"xp": XP}) == (200, "ok")
                create_experiment(server.url, XP)
            rows = _delete_and_recreate(server, logdir, http, cycle)
            assert _tree(logdir) == untouched, "the DELETE touched something else in the logdir"

    server.restart()
    assert get_scalars(server.url, XP, METRIC) == rows
    assert [row[1] for row in get_scalars(server.url, OTHER, METRIC)] == list(range(500))
