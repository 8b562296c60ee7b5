"""Helpers shared by commands: finding the running system's NATS, running coroutines."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from ops.nats_access import NatsTarget, nats_target, resolve_nats_url

__all__ = ["resolve_nats_url", "nats_target", "NatsTarget", "run_async"]

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)
