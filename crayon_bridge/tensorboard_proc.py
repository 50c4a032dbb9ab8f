"""Stock TensorBoard as a child process on the bridge's logdir, started and stopped with it."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator

from aiohttp import web

from .handlers import CONFIG_KEY

log = logging.getLogger(__name__)

STOP_TIMEOUT = 10.0


def tensorboard_command(logdir: str, host: str, port: int) -> list[str]:
    """Return the command that serves `logdir` with stock TensorBoard."""
    return [
        sys.executable,
        "-m",
        "tensorboard.main",
        "--logdir",
        logdir,
        "--host",
        host,
        "--port",
        str(port),
        # Show every point, as the bridge's GET does (TensorBoard samples 1,000 by default).
        "--samples_per_plugin",
        "scalars=100000",
    ]


async def tensorboard_child(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: run TensorBoard while the bridge runs; a failure to start is only logged."""
    config = app[CONFIG_KEY]
    command = tensorboard_command(str(config.logdir), config.host, config.tensorboard_port)
    try:
        process = await asyncio.create_subprocess_exec(*command)
    except OSError as exc:
        log.error("could not start TensorBoard: %s", exc)
        yield
        return
    log.info(
        "TensorBoard (pid %d) serves %s on http://%s:%d/",
        process.pid,
        config.logdir,
        config.host,
        config.tensorboard_port,
    )
    yield
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
