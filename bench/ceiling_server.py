"""The ceiling: a bare aiohttp app that only parses each POSTed JSON body and answers 200.

It answers `GET /` with `0.5` like the bridge, accepts (and ignores) `--logdir` and
`--no-tensorboard` so it can stand in for the bridge, and answers `GET /data/scalars` with a
synthetic series of `--series-points` points serialised by orjson on every request: the cost of
serialising a long answer, with nothing read from disk.
"""

from __future__ import annotations

import argparse
import json

import orjson
from aiohttp import web

API_VERSION = "0.5"
SERIES_KEY = web.AppKey("series", list)
SERIES_POINTS_KEY = web.AppKey("series_points", int)


def parse_json(body: bytes) -> object:
    """Parse a JSON body as the bridge does: orjson, or the stdlib for NaN/Infinity tokens."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


async def index(request: web.Request) -> web.Response:
    """Answer the API version."""
    return web.Response(text=API_VERSION)


async def post_any(request: web.Request) -> web.Response:
    """Parse the JSON body and answer 200: the least any POST of the API must do."""
    try:
        parse_json(await request.read())
    except ValueError as exc:
        return web.Response(status=400, text=f"invalid JSON body: {exc}")
    return web.Response(text="ok")


async def get_scalars(request: web.Request) -> web.Response:
    """Serialise a synthetic series of `--series-points` points (built on first use)."""
    series = request.app[SERIES_KEY]
    if not series:
        count = request.app[SERIES_POINTS_KEY]
        series.extend([1.7e9 + i * 0.001, i, i * 0.5] for i in range(count))
    return web.Response(body=orjson.dumps(series), content_type="application/json")


def make_app(series_points: int) -> web.Application:
    """Build the ceiling app."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[SERIES_KEY] = []
    app[SERIES_POINTS_KEY] = series_points
    app.router.add_get("/", index)
    app.router.add_get("/data/scalars", get_scalars)
    app.router.add_post("/{tail:.*}", post_any)
    return app


def main(argv: list[str] | None = None) -> None:
    """Run the ceiling server on 127.0.0.1."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--series-points", type=int, default=1_000_000)
    parser.add_argument("--logdir", help="ignored: lets the ceiling stand in for the bridge")
    parser.add_argument("--no-tensorboard", action="store_true", help="ignored, as --logdir")
    args = parser.parse_args(argv)
    web.run_app(
        make_app(args.series_points),
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
