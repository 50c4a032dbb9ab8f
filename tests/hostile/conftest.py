"""Fixtures of the hostile-input suite: in-process clients on a fresh logdir, seeded with data."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hostile_support import Seeded, seed

from crayon_bridge.app import create_app
from crayon_bridge.config import Config

MakeClient = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def make_client(aiohttp_client, logdir: Path) -> MakeClient:
    """Start an in-process bridge on `logdir`; keyword arguments override `Config` fields."""

    async def make(**overrides: Any) -> TestClient:
        config = dataclasses.replace(Config(logdir=logdir), **overrides)
        return await aiohttp_client(create_app(config))

    return make


@pytest.fixture
async def client(make_client: MakeClient) -> TestClient:
    """An in-process bridge with default settings on a fresh logdir."""
    return await make_client()


@pytest.fixture
async def seeded(client: TestClient, logdir: Path) -> Seeded:
    """The default bridge, holding experiment `base` with a few scalars and histograms."""
    return await seed(client, logdir)
