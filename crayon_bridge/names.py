"""The rules for experiment and metric names, checked before a name reaches disk or a file.

An experiment name becomes a directory name under the logdir exactly as given (so TensorBoard
shows it as the run's name). What cannot be such a directory, or could reach outside the logdir, is
refused; everything else (spaces, `~`, `$HOME`, shell characters, any script) is kept as is.
"""

from __future__ import annotations

import functools
import re

from .errors import BadRequest, PayloadTooLarge, clip

MAX_FILE_NAME_BYTES = 255  # the longest file name Linux file systems accept
MAX_EXPERIMENT_NAME_BYTES = MAX_FILE_NAME_BYTES  # an experiment is a directory of that name
RESERVED_DIRECTORY = ".crayon-bridge"  # the bridge's own staging area inside the logdir

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # refused in names that reach disk
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _check_encodable(kind: str, name: str) -> None:
    if _SURROGATE.search(name):
        raise BadRequest(f"{kind} name {clip(name)} contains a lone surrogate (not valid Unicode)")


def check_experiment_name(name: object) -> str:
    """Return `name` if it can be stored as an experiment, else raise a 4xx naming the rule."""
    if not isinstance(name, str):
        raise BadRequest(f"experiment name must be a JSON string, got {clip(name)}")
    if name in ("", ".", ".."):
        raise BadRequest(f"experiment name {name!r} is not allowed (empty, '.' and '..' are not)")
    _check_encodable("experiment", name)
    if "/" in name or "\\" in name:
        raise BadRequest(f"experiment name {clip(name)} must not contain '/' or '\\'")
    if CONTROL_CHARACTERS.search(name):
        raise BadRequest(f"experiment name {clip(name)} must not contain control characters")
    size = len(name.encode("utf-8"))
    if size > MAX_EXPERIMENT_NAME_BYTES:
        raise PayloadTooLarge(
            f"experiment name is {size} bytes in UTF-8; at most {MAX_EXPERIMENT_NAME_BYTES}"
        )
    if name == RESERVED_DIRECTORY:
        raise BadRequest(f"experiment name {name!r} is reserved for the bridge's own files")
    return name


def check_metric_name(name: object, max_bytes: int) -> str:
    """Return `name` if it can be a TensorBoard tag, else raise a 4xx naming the rule."""
    if not isinstance(name, str):
        raise BadRequest(f"metric name must be a string, got {clip(name)}")
    return _checked_metric_name(name, max_bytes)


# Clients send the same few names with every point: remember the ones that passed.
@functools.lru_cache(maxsize=4096)
def _checked_metric_name(name: str, max_bytes: int) -> str:
    if not name:
        raise BadRequest("metric name must not be empty")
    if "\x00" in name:
        raise BadRequest(f"metric name {clip(name)} must not contain NUL characters")
    _check_encodable("metric", name)
    size = len(name.encode("utf-8"))
    if size > max_bytes:
        raise PayloadTooLarge(f"metric name is {size} bytes in UTF-8; at most {max_bytes}")
    return name
