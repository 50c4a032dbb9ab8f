"""Shared fixtures: an in-process app client, and a real bridge process on a free port."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bridge_support import LiveServer


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    """A fresh, empty logdir for one test."""
    path = tmp_path / "logdir"
    path.mkdir()
    return path


@pytest.fixture
def server_factory(logdir: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start bridges on `logdir` with extra CLI arguments; all are stopped at teardown."""
    started: list[LiveServer] = []

    def start(*extra_args: str) -> LiveServer:
        server = LiveServer(logdir, extra_args)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process is not None:
            server.stop()


@pytest.fixture
def live_server(server_factory) -> LiveServer:
    """A running bridge process on a fresh logdir, without TensorBoard."""
    return server_factory()


@pytest.fixture
async def client(aiohttp_client, logdir: Path):
    """An in-process test client of the bridge app on a fresh logdir."""
    from crayon_bridge.app import create_app
    from crayon_bridge.config import Config

    return await aiohttp_client(create_app(Config(logdir=logdir)))
