"""The `crayon-bridge` command: serve the bridge, or (`ls`, `export`, `import`) talk to one."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from pathlib import Path

from . import __version__

TOKEN_ENV = "CRAYON_BRIDGE_TOKEN"
TOOL_COMMANDS = ("ls", "export", "import")
MIB = 1 << 20


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the server command's options."""
    parser = argparse.ArgumentParser(
        prog="crayon-bridge",
        description="Serve the Crayon HTTP API, storing every point as TensorBoard event files. "
        f"Other commands: {', '.join(TOOL_COMMANDS)} (see `crayon-bridge ls --help`).",
    )
    parser.add_argument("--version", action="version", version=f"crayon-bridge {__version__}")
    parser.add_argument("--logdir", type=Path, default=Path("runs"), help="default: ./runs")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8889, help="API port (default 8889)")
    parser.add_argument(
        "--tensorboard-port", type=int, default=8888, help="TensorBoard's port (default 8888)"
    )
    parser.add_argument(
        "--no-tensorboard", action="store_true", help="do not start TensorBoard beside the bridge"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get(TOKEN_ENV),
        help=f"require this access token on every request but GET / (or set ${TOKEN_ENV})",
    )
    parser.add_argument(
        "--fsync",
        action="store_true",
        help="fsync every write before answering (survives power loss; slower)",
    )
    parser.add_argument("--max-body-mb", type=int, default=64, help="request body limit in MiB")
    parser.add_argument(
        "--max-upload-mb", type=int, default=1024, help="backup upload limit in MiB"
    )
    parser.add_argument(
        "--max-batch-points", type=int, default=1_000_000, help="points per request at most"
    )
    parser.add_argument(
        "--max-metric-name-bytes", type=int, default=1024, help="metric name length at most"
    )
    parser.add_argument(
        "--max-histogram-values",
        type=int,
        default=10_000_000,
        help="values per histogram to build at most",
    )
    parser.add_argument(
        "--max-archive-entries", type=int, default=1000, help="files per backup archive at most"
    )
    parser.add_argument(
        "--max-unpacked-mb", type=int, default=4096, help="unpacked size of a backup at most (MiB)"
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    parser.add_argument(
        "--access-log", action="store_true", help="log every request (costs throughput)"
    )
    return parser


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(argv: list[str]) -> int:
    """Run the bridge until SIGINT/SIGTERM; every file is flushed and closed on the way out."""
    from aiohttp import web

    from .app import create_app
    from .backup import ArchiveLimits
    from .config import Config
    from .params import Limits

    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not args.token and not _is_loopback(args.host):
        logging.getLogger("crayon_bridge").warning(
            "listening on %s without an access token: anyone who can reach this port can read, "
            "write and delete experiments; set --token or $%s",
            args.host,
            TOKEN_ENV,
        )
    config = Config(
        logdir=args.logdir.resolve(),
        host=args.host,
        port=args.port,
        tensorboard=not args.no_tensorboard,
        tensorboard_port=args.tensorboard_port,
        token=args.token or None,
        fsync=args.fsync,
        max_body_bytes=args.max_body_mb * MIB,
        limits=Limits(
            max_batch_points=args.max_batch_points,
            max_metric_name_bytes=args.max_metric_name_bytes,
            max_histogram_values=args.max_histogram_values,
        ),
        archive_limits=ArchiveLimits(
            max_upload_bytes=args.max_upload_mb * MIB,
            max_entries=args.max_archive_entries,
            max_unpacked_bytes=args.max_unpacked_mb * MIB,
        ),
    )
    where = f"API on http://{args.host}:{args.port}/, logdir {config.logdir}"
    if config.tensorboard:
        where += f", TensorBoard on http://{args.host}:{args.tensorboard_port}/"
    print(f"crayon-bridge {__version__}: {where}", flush=True)
    access_log = logging.getLogger("aiohttp.access") if args.access_log else None
    web.run_app(
        create_app(config), host=args.host, port=args.port, print=None, access_log=access_log
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of `crayon-bridge` and `python -m crayon_bridge`."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in TOOL_COMMANDS:
        from .tools import main as tools_main

        return tools_main(argv)
    return serve(argv)
