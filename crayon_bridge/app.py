"""The aiohttp application: wiring only (routes, middlewares, start-up and shutdown)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

from . import handlers, metrics, openapi
from .auth import CHALLENGE, check_token
from .config import Config
from .errors import ApiError
from .handlers import CONFIG_KEY, ROWS_CACHE_KEY, STORE_KEY
from .metrics import CLIENT_GONE, METRICS_KEY, error_log_line
from .params import parse_query
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

# Operations, beside the Crayon API: the OpenAPI document and Prometheus metrics.
OPS_ROUTES = [
    web.get("/openapi.json", openapi.get_openapi),
    web.get("/metrics", metrics.get_metrics),
]

# Routes anyone may call without the token: the liveness check stock clients start with, and
# the API's description.
PUBLIC_ROUTES = {
    ("GET", "/"),
    ("HEAD", "/"),
    ("GET", "/openapi.json"),
    ("HEAD", "/openapi.json"),
}


@web.middleware
async def bridge_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Wrap every request: token and query checks, errors answered in one place, metrics.

    One middleware rather than four: each layer costs microseconds on every request, which
    shows against a bare aiohttp handler (docs/bench.md). `ApiError`s become text answers with
    their status; aiohttp's own 404/405/413 pass through with theirs; anything else is a 500
    whose details go to the log only.
    """
    started = time.perf_counter()
    status = 500
    try:
        token = request.app[CONFIG_KEY].token
        if token and (request.method, request.path) not in PUBLIC_ROUTES:
            check_token(request.headers.get("Authorization"), token)
        parse_query(request.rel_url.raw_query_string)  # refuses what reads two ways
        response = await handler(request)
        status = response.status
        return response
    except ApiError as exc:
        status = exc.status
        _log_error(request, exc.status, type(exc).__name__, exc.message, started)
        headers = {"WWW-Authenticate": CHALLENGE} if exc.status == 401 else None
        response = web.Response(status=exc.status, text=exc.message, headers=headers)
        if exc.close_connection:
            response.force_close()
        return response
    except web.HTTPException as exc:
        status = exc.status
        if exc.status >= 400:
            _log_error(request, exc.status, type(exc).__name__, exc.text or exc.reason, started)
        raise
    except asyncio.CancelledError:
        status = CLIENT_GONE
        raise
    except Exception as exc:
        _log_error(request, 500, "internal", repr(exc), started, exc_info=True)
        return web.Response(status=500, text="internal error (see the bridge's log)")
    finally:
        request.app[METRICS_KEY].observe(request, status, time.perf_counter() - started)


def _log_error(
    request: web.Request,
    status: int,
    kind: str,
    message: str,
    started: float,
    exc_info: bool = False,
) -> None:
    """Log one structured line for an error answer (with the traceback for a 500), count it."""
    request.app[METRICS_KEY].count_error(status, kind)
    line = error_log_line(request, status, kind, message, time.perf_counter() - started)
    log.log(logging.ERROR if status >= 500 else logging.WARNING, line, exc_info=exc_info)


async def _store_context(app: web.Application) -> AsyncIterator[None]:
    store = ExperimentStore(app[CONFIG_KEY].logdir, fsync=app[CONFIG_KEY].fsync)
    store.open()
    app[STORE_KEY] = store
    yield
    store.close()


def create_app(config: Config) -> web.Application:
    """Build the bridge application for `config`."""
    counters = metrics.Metrics()
    app = web.Application(
        client_max_size=config.max_body_bytes,
        middlewares=[bridge_middleware],
    )
    app[CONFIG_KEY] = config
    app[ROWS_CACHE_KEY] = RowsCache()
    app[METRICS_KEY] = counters
    app[openapi.DOCUMENT_KEY] = openapi.document_bytes(config)
    app.cleanup_ctx.append(_store_context)
    if config.tensorboard:
        app.cleanup_ctx.append(tensorboard_child)
    app.add_routes(ROUTES)
    app.add_routes(OPS_ROUTES)
    return app
