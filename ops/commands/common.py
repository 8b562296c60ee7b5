"""Helpers shared by commands: finding the running system's NATS, running coroutines."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from ops.settings import Settings
from schemas.errors import ConfigError

__all__ = ["resolve_nats_url", "run_async"]

T = TypeVar("T")


def resolve_nats_url(settings: Settings) -> str:
    """NATS_URL, else the URL the embedded server of a running `alpha-panda up` wrote."""
    if settings.nats_url:
        return settings.nats_url
    url_file = Path(settings.data_dir) / "nats.url"
    if url_file.exists():
        return url_file.read_text().strip()
    raise ConfigError(
        f"no NATS_URL set and no running embedded server found ({url_file} is missing): "
        "start `alpha-panda up` in this directory or set NATS_URL"
    )


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)
