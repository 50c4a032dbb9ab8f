"""The aiohttp application: wiring only (routes, middlewares, start-up and shutdown)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

from . import handlers
from .auth import CHALLENGE, check_token
from .config import Config
from .errors import ApiError
from .handlers import CONFIG_KEY, ROWS_CACHE_KEY, STORE_KEY
from .rowcache import RowsCache
from .store import ExperimentStore
from .tensorboard_proc import tensorboard_child

log = logging.getLogger(__name__)

# The Crayon API, one line per route; README's API table mirrors it (tests/test_docs.py).
ROUTES = [
    web.get("/", handlers.get_version),
    web.get("/data", handlers.get_data),
    web.post("/data", handlers.post_data),
    web.delete("/data", handlers.delete_data),
    web.get("/data/scalars", handlers.get_scalars),
    web.post("/data/scalars", handlers.post_scalars),
    web.get("/data/histograms", handlers.get_histograms),
    web.post("/data/histograms", handlers.post_histograms),
    web.get("/backup", handlers.get_backup),
    web.post("/backup", handlers.post_backup),
]

# Routes anyone may call without the token: the liveness check stock clients start with.
PUBLIC_ROUTES = {("GET", "/"), ("HEAD", "/")}


@web.middleware
async def error_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Turn `ApiError`s into text answers with their status; hide anything unexpected."""
    started = time.perf_counter()
    try:
        return await handler(request)
    except ApiError as exc:
        log.warning(
            "%s %s -> %d %s (%.1f ms)",
            request.method,
            request.rel_url,
            exc.status,
            exc.message,
            (time.perf_counter() - started) * 1000,
        )
        headers = {"WWW-Authenticate": CHALLENGE} if exc.status == 401 else None
        return web.Response(status=exc.status, text=exc.message, headers=headers)
    except web.HTTPException:
        raise  # aiohttp's own 404/405/413 keep their status, text and headers
    except Exception:
        log.exception("%s %s -> 500", request.method, request.rel_url)
        return web.Response(status=500, text="internal error (see the bridge's log)")


@web.middleware
async def token_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Refuse requests without the configured token (all but the liveness check)."""
    token = request.app[CONFIG_KEY].token
    if token and (request.method, request.path) not in PUBLIC_ROUTES:
        check_token(request.headers.get("Authorization"), token)
    return await handler(request)


async def _store_context(app: web.Application) -> AsyncIterator[None]:
    store = ExperimentStore(app[CONFIG_KEY].logdir, fsync=app[CONFIG_KEY].fsync)
    store.open()
    app[STORE_KEY] = store
    yield
    store.close()


def create_app(config: Config) -> web.Application:
    """Build the bridge application for `config`."""
    app = web.Application(
        client_max_size=config.max_body_bytes,
        middlewares=[error_middleware, token_middleware],
    )
    app[CONFIG_KEY] = config
    app[ROWS_CACHE_KEY] = RowsCache()
    app.cleanup_ctx.append(_store_context)
    if config.tensorboard:
        app.cleanup_ctx.append(tensorboard_child)
    app.add_routes(ROUTES)
    return app
