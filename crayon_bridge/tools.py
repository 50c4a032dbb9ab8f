"""`crayon-bridge ls | export | import`: look at and move experiments of a running bridge.

These commands only talk HTTP to a bridge (`--url`, default $CRAYON_BRIDGE_URL or
http://127.0.0.1:8889; `--token`, default $CRAYON_BRIDGE_TOKEN), through the same client code as
`crayon_bridge.client`. Transfers show a progress bar when tqdm is installed and stderr is a
terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from crayon_bridge.client._http import DEFAULT_URL, HttpSession
from crayon_bridge.client.errors import CrayonError

URL_ENV = "CRAYON_BRIDGE_URL"
TOKEN_ENV = "CRAYON_BRIDGE_TOKEN"
_CHUNK = 1 << 16
_KINDS = ("scalars", "histograms")


class ToolError(Exception):
    """A failure to report as one line on stderr, with exit status 1."""


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the `ls`, `export` and `import` commands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url",
        default=os.environ.get(URL_ENV) or DEFAULT_URL,
        help=f"the bridge (default ${URL_ENV} or {DEFAULT_URL}); "
        "may carry the token: http://user:TOKEN@host:port",
    )
    common.add_argument(
        "--token",
        default=os.environ.get(TOKEN_ENV) or None,
        help=f"the bridge's access token (default ${TOKEN_ENV})",
    )
    common.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for an answer (default 60)"
    )
    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")

    parser = argparse.ArgumentParser(
        prog="crayon-bridge", description="Talk to a running crayon-bridge."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ls = commands.add_parser(
        "ls", parents=[common], help="list experiments and their metrics", description=_LS_HELP
    )
    ls.add_argument("experiments", nargs="*", metavar="XP", help="only these experiments")
    ls.add_argument(
        "-l",
        "--long",
        action="store_true",
        help="also show each metric's number of points and steps (reads every series)",
    )
    ls.add_argument("--json", action="store_true", help="print JSON instead of text")

    export = commands.add_parser(
        "export", parents=[common, quiet], help="save an experiment as a zip file"
    )
    export.add_argument("experiment", metavar="XP")
    export.add_argument(
        "-o", "--output", metavar="FILE.zip", help="where to write (default: XP.zip)"
    )

    restore = commands.add_parser(
        "import", parents=[common, quiet], help="create an experiment from a zip file"
    )
    restore.add_argument("archive", metavar="FILE.zip")
    restore.add_argument(
        "--as", dest="experiment", metavar="XP", help="the experiment's name (default: FILE)"
    )
    restore.add_argument(
        "--force",
        action="store_true",
        help="replace the experiment if it exists (its current data is lost)",
    )
    return parser


_LS_HELP = "List the bridge's experiments and, under each, its scalar and histogram metrics."


def main(argv: list[str]) -> int:
    """Run `ls`, `export` or `import` (argv[0]) and return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed by argparse
        return exc.code if isinstance(exc.code, int) else 2
    command = {"ls": list_experiments, "export": export, "import": import_}[args.command]
    try:
        session = HttpSession(args.url, args.token, timeout=args.timeout)
    except ValueError as exc:
        parser.exit(2, f"crayon-bridge {args.command}: error: {exc}\n")
    try:
        command(session, args, sys.stdout)
    except (ToolError, CrayonError, OSError) as exc:
        print(f"crayon-bridge {args.command}: error: {exc}", file=sys.stderr)
        return 1
    finally:
        session.close()
    return 0


def list_experiments(session: HttpSession, args: argparse.Namespace, out: TextIO) -> None:
    """`ls`: print each experiment and its metrics (with `--long`, their sizes and steps)."""
    names = args.experiments or session.get_json("/data")
    listing = {}
    for name in names:
        info = session.get_json("/data", {"xp": name})
        if args.long:
            info = {kind: _describe(session, name, kind, info[kind]) for kind in _KINDS}
        listing[name] = info
    if args.json:
        json.dump(listing, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return
    if not listing:
        print(f"no experiments on {session.url}", file=out)
    for name, info in listing.items():
        print(name, file=out)
        width = max((len(metric) for kind in _KINDS for metric in info[kind]), default=0)
        for kind in _KINDS:
            metrics = info[kind]
            if not args.long:
                print(f"  {kind + ':':<12}{', '.join(metrics) if metrics else '-'}", file=out)
                continue
            for metric, summary in metrics.items():
                print(f"  {kind[:-1]:<10} {metric:<{width}}  {_summary_text(summary)}", file=out)


def _describe(
    session: HttpSession, experiment: str, kind: str, metrics: list[str]
) -> dict[str, dict[str, Any]]:
    summaries = {}
    for metric in metrics:
        rows = session.get_json(f"/data/{kind}", {"xp": experiment, "name": metric})
        steps = [row[1] for row in rows]
        summaries[metric] = {
            "points": len(rows),
            "first_step": min(steps, default=None),
            "last_step": steps[-1] if steps else None,
        }
    return summaries


def _summary_text(summary: dict[str, Any]) -> str:
    count, first, last = summary["points"], summary["first_step"], summary["last_step"]
    if count == 0:
        return "0 points"
    if count == 1:
        return f"1 point, step {first}"
    return f"{count} points, steps {first}..{last}"


def export(session: HttpSession, args: argparse.Namespace, out: TextIO) -> None:
    """`export XP -o FILE.zip`: download the experiment's backup (written whole, or not at all)."""
    output = Path(args.output or _file_name(args.experiment) + ".zip")
    partial = output.with_name(output.name + ".part")
    size = 0
    try:
        with (
            session.stream("GET", "/backup", {"xp": args.experiment}) as response,
            open(partial, "wb") as file,
            _progress(response.length, f"export {args.experiment}", args.quiet) as advance,
        ):
            while chunk := session.read_chunk(response, _CHUNK):
                file.write(chunk)
                size += len(chunk)
                advance(len(chunk))
        os.replace(partial, output)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    if not args.quiet:
        print(f"exported {args.experiment!r} to {output} ({size} bytes)", file=out)


def import_(session: HttpSession, args: argparse.Namespace, out: TextIO) -> None:
    """`import FILE.zip --as XP`: create (with `--force`, replace) an experiment from a backup."""
    archive = Path(args.archive)
    name = args.experiment or archive.name.removesuffix(".zip")
    if not args.force and _exists(session, name):
        raise ToolError(
            f"experiment {name!r} already exists on {session.url}; "
            "add --force to replace it (its current data is lost), or choose a name with --as"
        )
    with open(archive, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        with _progress(size, f"import {name}", args.quiet) as advance:
            body = _ReadProgress(file, advance)
            params = {"xp": name, "force": True}
            with session.stream(
                "POST", "/backup", params, body, "application/zip", size
            ) as response:
                session.read_chunk(response, None)
    if not args.quiet:
        print(f"imported {archive} as {name!r} ({size} bytes)", file=out)


def _exists(session: HttpSession, name: str) -> bool:
    try:
        session.get_json("/data", {"xp": name})
    except CrayonError as exc:
        if exc.status == 404:
            return False
        raise
    return True


def _file_name(experiment: str) -> str:
    """An experiment name made safe as a file name in the current directory."""
    return "".join("_" if char in '/\\:*?"<>|' or ord(char) < 32 else char for char in experiment)


class _ReadProgress:
    """A file wrapper that reports how much `http.client` has read from it."""

    def __init__(self, file: BinaryIO, advance: Any) -> None:
        self._file = file
        self._advance = advance

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self._advance(len(data))
        return data


@contextlib.contextmanager
def _progress(total: int | None, description: str, quiet: bool) -> Iterator[Any]:
    """Yield `advance(n)`: a tqdm bar on a terminal if tqdm is installed, else a no-op."""
    bar = None
    if not quiet:
        try:
            from tqdm import tqdm
        except ImportError:
            tqdm = None
        if tqdm is not None:
            bar = tqdm(
                total=total,
                desc=description,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=sys.stderr,
                disable=None,  # only on a terminal
                leave=False,
            )
    try:
        yield bar.update if bar is not None else _no_progress
    finally:
        if bar is not None:
            bar.close()


def _no_progress(count: int) -> None:
    del count
