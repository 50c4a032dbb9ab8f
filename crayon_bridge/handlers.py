"""One thin coroutine per route: parse the request, call the store, answer 200.

Errors are raised (`errors.ApiError`) and turned into answers by `app.bridge_middleware` alone.
Anything that may take long (re-reading files, building JSON for a long series, zipping,
unpacking) runs in a worker thread so the event loop keeps serving writes.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import TypeVar
from urllib.parse import quote

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from . import API_VERSION, __version__, jsonio
from .backup import remove_quietly, write_zip
from .config import Config
from .downsample import keep_extremes
from .errors import BadRequest, NotFound, UnreadableBody, clip
from .names import check_experiment_name
from .params import (
    optional_query,
    parse_bool,
    parse_count,
    parse_histogram_body,
    parse_query,
    parse_scalar_body,
    require_query,
)
from .reader import ExperimentIndex
from .rowcache import RowsCache
from .store import ExperimentStore
from .uploads import receive_archive

log = logging.getLogger(__name__)
T = TypeVar("T")

CONFIG_KEY = web.AppKey("config", Config)
STORE_KEY = web.AppKey("store", ExperimentStore)
ROWS_CACHE_KEY = web.AppKey("rows_cache", RowsCache)

JSON = "application/json"
VERSION_HEADER = "X-Crayon-Bridge-Version"


def _json(body: bytes) -> web.Response:
    return web.Response(body=body, content_type=JSON)


# Bodies above this size are parsed and validated in a worker thread, so that one huge batch
# does not stall every other request on the event loop.
OFF_LOOP_BODY_BYTES = 1 << 20


async def _read_body(request: web.Request) -> bytes:
    try:
        return await request.read()
    except RequestPayloadError as exc:  # e.g. a Content-Encoding that does not decode
        raise UnreadableBody(f"the body could not be read: {clip(str(exc))}") from exc


async def _read_json(request: web.Request):
    return jsonio.loads(await _read_body(request))


async def _parse_body(request: web.Request, parser: Callable[..., T], *args) -> T:
    """Return `parser(json_body, *args)`, run off the event loop for large bodies."""
    body = await _read_body(request)
    if len(body) > OFF_LOOP_BODY_BYTES:
        return await asyncio.to_thread(lambda: parser(jsonio.loads(body), *args))
    return parser(jsonio.loads(body), *args)


def _query(request: web.Request) -> Mapping[str, str]:
    """The request's query parameters, decoded once per distinct query string (cached)."""
    return parse_query(request.rel_url.raw_query_string)


async def get_version(request: web.Request) -> web.Response:
    """`GET /`: the Crayon API version, exactly as stock clients expect it."""
    return web.Response(text=API_VERSION, headers={VERSION_HEADER: __version__})


async def get_data(request: web.Request) -> web.Response:
    """`GET /data`: all experiment names; with `xp`, that experiment's metric names."""
    store = request.app[STORE_KEY]
    name = optional_query(_query(request), "xp")
    if name is None:
        return _json(jsonio.dumps(store.names()))
    info = await asyncio.to_thread(store.read, name, _metric_names)
    return _json(jsonio.dumps(info))


def _metric_names(index: ExperimentIndex) -> dict[str, list[str]]:
    return {"scalars": sorted(index.scalars), "histograms": sorted(index.histograms)}


async def post_data(request: web.Request) -> web.Response:
    """`POST /data`: create the experiment named by the JSON string body."""
    store = request.app[STORE_KEY]
    name = check_experiment_name(await _read_json(request))
    await asyncio.to_thread(store.create, name)
    return web.Response(text="ok")


async def delete_data(request: web.Request) -> web.Response:
    """`DELETE /data?xp=`: delete the experiment and all its files."""
    store = request.app[STORE_KEY]
    await asyncio.to_thread(store.delete, require_query(_query(request), "xp"))
    return web.Response(text="ok")


async def _store(config: Config, append, *args) -> None:
    """Run an append inline (a write to the page cache is cheap) or, with fsync, in a thread."""
    if config.fsync:
        await asyncio.to_thread(append, *args)
    else:
        append(*args)


async def post_scalars(request: web.Request) -> web.Response:
    """`POST /data/scalars?xp=[&name=]`: one point, a list of points, or points by metric."""
    config = request.app[CONFIG_KEY]
    query = _query(request)
    experiment = request.app[STORE_KEY].get(require_query(query, "xp"))
    name = optional_query(query, "name")
    batch = await _parse_body(request, parse_scalar_body, name, config.limits)
    await _store(config, experiment.append_scalars, batch)
    return web.Response(text="ok")


async def get_scalars(request: web.Request) -> web.StreamResponse:
    """`GET /data/scalars?xp=&name=[&after=][&max_points=]`: `[[wall_time, step, value], ...]`."""
    store = request.app[STORE_KEY]
    cache = request.app[ROWS_CACHE_KEY]
    query = _query(request)
    name = require_query(query, "name")
    after = parse_count(query, "after") or 0
    max_points = parse_count(query, "max_points")
    if max_points == 0:
        raise BadRequest("query parameter 'max_points' must be at least 1")
    pieces = await asyncio.to_thread(
        store.read,
        require_query(query, "xp"),
        lambda index: _scalar_rows_json(index, name, after, max_points, cache),
    )
    if len(pieces) == 1:
        return _json(pieces[0])
    response = web.StreamResponse(headers={"Content-Type": JSON})
    response.content_length = sum(map(len, pieces))
    await response.prepare(request)
    for piece in pieces:
        await response.write(piece)
    await response.write_eof()
    return response


def _series(series_by_name: dict, name: str, kind: str):
    series = series_by_name.get(name)
    if series is None:
        raise NotFound(f"unknown {kind} metric {clip(name)}")
    return series


def _scalar_rows_json(
    index: ExperimentIndex, name: str, after: int, max_points: int | None, cache: RowsCache
) -> list[bytes]:
    series = _series(index.scalars, name, "scalar")
    if max_points is None:
        return cache.series_json(series, after)
    wall_time, step, value = series.columns(start=after)
    keep = keep_extremes(value, max_points)
    return [jsonio.scalar_rows(wall_time[keep], step[keep], value[keep])]


async def post_histograms(request: web.Request) -> web.Response:
    """`POST /data/histograms?xp=&name=[&tobuild=]`: one histogram or a list of them."""
    config = request.app[CONFIG_KEY]
    query = _query(request)
    experiment = request.app[STORE_KEY].get(require_query(query, "xp"))
    name = require_query(query, "name")
    tobuild = parse_bool(query, "tobuild")
    points = await _parse_body(request, parse_histogram_body, name, tobuild, config.limits)
    await _store(config, experiment.append_histograms, name, points)
    return web.Response(text="ok")


async def get_histograms(request: web.Request) -> web.Response:
    """`GET /data/histograms?xp=&name=[&after=]`: `[[wall_time, step, [min, max, ...]], ...]`."""
    store = request.app[STORE_KEY]
    query = _query(request)
    name = require_query(query, "name")
    after = parse_count(query, "after") or 0
    body = await asyncio.to_thread(
        store.read,
        require_query(query, "xp"),
        lambda index: jsonio.dumps_with_non_finite(
            _series(index.histograms, name, "histogram").rows[after:]
        ),
    )
    return _json(body)


class _LoopSink:
    """A file-like object for a worker thread that streams bytes into an aiohttp response."""

    _FLUSH_AT = 256 << 10

    def __init__(self, response: web.StreamResponse, loop: asyncio.AbstractEventLoop) -> None:
        self._response = response
        self._loop = loop
        self._buffer = bytearray()

    def write(self, data: bytes) -> int:
        self._buffer += data
        if len(self._buffer) >= self._FLUSH_AT:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self._buffer:
            chunk, self._buffer = bytes(self._buffer), bytearray()
            asyncio.run_coroutine_threadsafe(self._response.write(chunk), self._loop).result()


async def get_backup(request: web.Request) -> web.StreamResponse:
    """`GET /backup?xp=`: stream a zip of the experiment's event files (complete records only)."""
    store = request.app[STORE_KEY]
    name = require_query(_query(request), "xp")
    snapshot = await asyncio.to_thread(store.snapshot, name)
    try:
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/zip",
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}.zip",
            }
        )
        await response.prepare(request)
        sink = _LoopSink(response, asyncio.get_running_loop())
        await asyncio.to_thread(write_zip, snapshot, sink)
    except ConnectionResetError:  # the client went away mid-download: nothing to answer
        log.info("backup of %r: the client disconnected before the end", name)
        return response
    finally:
        for _, handle, _ in snapshot:
            handle.close()
    await response.write_eof()
    return response


async def post_backup(request: web.Request) -> web.Response:
    """`POST /backup?xp=&force=true`: replace (or create) the experiment from a backup zip."""
    config = request.app[CONFIG_KEY]
    store = request.app[STORE_KEY]
    query = _query(request)
    name = check_experiment_name(require_query(query, "xp"))
    if not parse_bool(query, "force"):
        raise BadRequest(
            "restoring a backup drops all current data of the experiment; "
            "add force=true to the query to confirm"
        )
    upload = store.staging / f"upload-{uuid.uuid4().hex}.zip"
    try:
        await receive_archive(request, upload, config.archive_limits.max_upload_bytes)
        await asyncio.to_thread(store.restore, name, upload, config.archive_limits)
    finally:
        remove_quietly(upload)
    return web.Response(text="ok")
