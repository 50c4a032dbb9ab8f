"""The bridge's settings, as one immutable value built by the CLI (or by tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .backup import ArchiveLimits
from .params import Limits


@dataclass(frozen=True)
class Config:
    """Everything `create_app` needs to know."""

    logdir: Path
    host: str = "127.0.0.1"
    port: int = 8889
    tensorboard: bool = False
    tensorboard_port: int = 8888
    token: str | None = None
    fsync: bool = False
    max_body_bytes: int = 64 << 20
    limits: Limits = field(default_factory=Limits)
    archive_limits: ArchiveLimits = field(default_factory=ArchiveLimits)
