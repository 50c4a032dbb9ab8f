"""Reads after appends and restarts always equal a full re-read of the files."""

from __future__ import annotations

import numpy as np

from crayon_bridge import jsonio
from crayon_bridge.app import create_app
from crayon_bridge.config import Config
from crayon_bridge.reader import ExperimentIndex
from crayon_bridge.rowcache import BLOCK_POINTS


def full_reread(directory) -> dict[str, bytes]:
    """Every scalar series of `directory` as JSON, from a new index that parses everything."""
    index = ExperimentIndex(directory)
    with index.lock:
        index.refresh()
        return {tag: jsonio.scalar_rows(*series.columns()) for tag, series in index.scalars.items()}


async def api_read(client, tags) -> dict[str, bytes]:
    answers = {}
    for tag in tags:
        response = await client.get("/data/scalars", params={"xp": "xp", "name": tag})
        assert response.status == 200
        answers[tag] = await response.read()
    return answers


async def test_append_read_restart_read_equals_full_reread(aiohttp_client, logdir):
    rng = np.random.default_rng(0)
    client = await aiohttp_client(create_app(Config(logdir=logdir)))
    await client.post("/data", json="xp")
    step = 0
    for round_ in range(4):
        if round_ == 2:  # restart: a new app on the same logdir
            await client.close()
            client = await aiohttp_client(create_app(Config(logdir=logdir)))
        # a big batch (column path, crossing cache blocks), a small one, and single points
        for size in (BLOCK_POINTS + 123, 5, 1):
            points = [
                [1.0 + step + i, step + i, float(v)] for i, v in enumerate(rng.normal(size=size))
            ]
            step += size
            body = {"loss": points, "acc": points[: size // 2 + 1]}
            assert (
                await client.post("/data/scalars", params={"xp": "xp"}, json=body)
            ).status == 200
            assert await api_read(client, ["loss", "acc"]) == full_reread(logdir / "xp")
    await client.close()
