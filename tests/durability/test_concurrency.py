"""Many clients posting to the same experiment and metric at once, on a real bridge process.

Every point is stored exactly once, and a GET sent after a point was acknowledged (to any
client) contains it. With `--fsync` the appends run in worker threads under the experiment's lock
instead of inline on the event loop, so both modes are run.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import aiohttp
import orjson
import pytest
from durability_support import STEPS_PER_WRITER, check_points, create_experiment, point

pytestmark = pytest.mark.e2e

XP, METRIC, HISTOGRAMS = "crowded", "loss", "weights"
CLIENTS = 32
REQUESTS_PER_CLIENT = 30
DEADLINE = 30.0


def _histogram(step: int) -> list:
    count = float(step % 7 + 1)
    return [
        point(step)[0],
        step,
        {"min": 0.0, "max": 1.0, "num": count, "bucket_limit": [0.5, 1.0], "bucket": [count, 0.0]},
    ]


class Shared:
    """What every client acknowledged so far, and what was sent."""

    def __init__(self) -> None:
        self.acked: set[int] = set()
        self.sent: set[int] = set()
        self.histograms_acked: set[int] = set()
        self.histograms_sent: set[int] = set()
        self.gets_checked = 0
        self.statuses: Counter = Counter()


async def _get(session: aiohttp.ClientSession, url: str, kind: str, name: str) -> list:
    async with session.get(f"{url}/data/{kind}", params={"xp": XP, "name": name}) as response:
        assert response.status == 200, await response.text()
        return await response.json(loads=orjson.loads)


async def _client(session, url: str, number: int, shared: Shared, deadline: float) -> None:
    step = number * STEPS_PER_WRITER
    params = {"xp": XP, "name": METRIC}
    for count in range(REQUESTS_PER_CLIENT):
        if time.monotonic() > deadline:
            return
        size = 1 if count % 2 else 1 + (count * 31 + number) % 60
        steps = list(range(step, step + size))
        step += size
        body = point(steps[0]) if size == 1 else [point(s) for s in steps]
        shared.sent.update(steps)
        async with session.post(f"{url}/data/scalars", params=params, json=body) as response:
            shared.statuses[response.status] += 1
            assert response.status == 200, await response.text()
        shared.acked.update(steps)

        if count % 4 == 0:  # histograms of the same experiment, under the same lock
            hist_steps = [step + i for i in range(count % 3 + 1)]
            step += len(hist_steps)
            shared.histograms_sent.update(hist_steps)
            async with session.post(
                f"{url}/data/histograms",
                params={"xp": XP, "name": HISTOGRAMS, "tobuild": "false"},
                json=[_histogram(s) for s in hist_steps],
            ) as response:
                assert response.status == 200, await response.text()
            shared.histograms_acked.update(hist_steps)

        if count % 15 == 14:  # read after write: everything any client had acknowledged
            acked_before = set(shared.acked)
            rows = await _get(session, url, "scalars", METRIC)
            missing = acked_before.difference(row[1] for row in rows)
            assert not missing, f"a GET misses {len(missing)} acknowledged points"
            shared.gets_checked += 1


@pytest.mark.parametrize("options", [(), ("--fsync",)], ids=["page-cache", "fsync"])
async def test_many_clients_same_metric_exactly_once(server_factory, options):
    server = server_factory(*options)
    create_experiment(server.url, XP)
    shared = Shared()
    deadline = time.monotonic() + DEADLINE
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(
            *(_client(session, server.url, n, shared, deadline) for n in range(CLIENTS))
        )
        rows = await _get(session, server.url, "scalars", METRIC)
        histograms = await _get(session, server.url, "histograms", HISTOGRAMS)
    assert shared.gets_checked == 2 * CLIENTS, "the clients ran out of time"
    check_points(rows, shared.acked, shared.sent)
    assert len(rows) == len(shared.acked)
    steps = Counter(row[1] for row in histograms)
    assert set(steps) == shared.histograms_acked and set(steps.values()) == {1}
    for wall_time, step, (_, _, num, *_rest) in histograms:
        assert [wall_time, num] == [point(step)[0], float(step % 7 + 1)]
