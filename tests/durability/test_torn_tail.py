"""Starting on a file whose last record is half-written (a crash mid-write, or a full disk).

Complete records read back, the torn file is left exactly as it was, and new points go to a new
file that sorts after it, so no reader ever meets garbage in the middle of a file; TensorBoard's
own loaders read everything.
"""

from __future__ import annotations

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

from crayon_bridge import tfrecord
from crayon_bridge.events import scalar_payload, scalar_prefix
from crayon_bridge.models import ScalarPoint

pytestmark = pytest.mark.e2e

XP, METRIC = "torn", "loss"
TORN_STEP = 123_456_789  # the step of the half-written record: never to be read back


def _record() -> bytes:
    wall_time, step, value = point(TORN_STEP)
    payload = scalar_payload(scalar_prefix(METRIC), ScalarPoint(wall_time, step, value))
    return tfrecord.frame(payload)


def _post(url: str, xp: str, steps) -> None:
    http = Http(url)
    try:
        status, text = http.json(
            "POST", "/data/scalars", {"xp": xp, "name": METRIC}, [point(s) for s in steps]
        )
        assert status == 200, (status, text)
    finally:
        http.close()


# Where the last record is cut: inside its length, after its header, mid-payload, in its CRC.
CUTS = {
    "in-length": 5,
    "header-only": tfrecord.HEADER_SIZE,
    "half-payload": len(_record()) // 2,
    "no-crc": len(_record()) - 1,
}


def test_torn_last_record_is_skipped_and_left_alone(server_factory, logdir):
    server = server_factory()
    for xp in CUTS:  # one experiment per kind of cut, to start the bridge only three times
        create_experiment(server.url, xp)
        _post(server.url, xp, range(100))
    server.stop()
    torn = {}
    for xp, cut in CUTS.items():
        (scan,) = scan_event_files(logdir / xp)
        assert not scan.torn
        with open(logdir / xp / scan.name, "ab") as handle:
            handle.write(_record()[:cut])
        torn[xp] = (scan, (logdir / xp / scan.name).read_bytes())

    server.start()
    sent = set(range(200))
    for xp in CUTS:
        check_points(get_scalars(server.url, xp, METRIC), set(range(100)), sent)
        _post(server.url, xp, range(100, 150))
        _post(server.url, xp, range(150, 200))  # a second write appends to the same new file
        rows = get_scalars(server.url, xp, METRIC)
        assert [row[1] for row in rows] == list(range(200))
        check_points(rows, sent, sent)
    server.stop()

    for xp, (before, torn_bytes) in torn.items():
        scans = scan_event_files(logdir / xp)
        assert scans[0].name == before.name, f"{xp}: new file must sort after"
        assert len(scans) == 2, xp
        assert (logdir / xp / before.name).read_bytes() == torn_bytes, f"{xp}: torn file modified"
        assert scans[0].torn and scans[0].complete == before.size, xp
        assert not scans[1].torn, xp
        check_with_tensorboard(logdir / xp, METRIC, sent, sent)

    server.start()  # and once more: the torn files still read the same
    for xp in CUTS:
        check_points(get_scalars(server.url, xp, METRIC), sent, sent)
