"""Calls to the official (synchronous) Kite client off the event loop, and what a failure
means for an order.

`KiteCalls` runs every call on one worker thread of its own: the client's
`requests.Session` is not meant to be shared between threads, and one thread keeps an
account's calls in the order they were made. `outcome_of` sorts a failed placement:

- `AMBIGUOUS`: the request may have reached Kite (a read timeout, a reset connection, a
  5xx, an answer we could not parse): the order may stand; look it up by tag before
  anything else.
- `RETRY`: Kite answered 429 (too many requests): it placed nothing; back off and retry.
- `UNREACHABLE`: the connection was never made: nothing was sent; retry later.
- `SESSION`: `TokenException` (HTTP 403): nothing placed; the session is over.
- `REFUSED`: Kite refused the order (input, order, margin, permission errors).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import enum
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from kiteconnect import exceptions as kex

__all__ = ["Outcome", "outcome_of", "KiteCalls", "describe"]

T = TypeVar("T")


class Outcome(enum.Enum):
    AMBIGUOUS = "ambiguous"
    RETRY = "retry"
    UNREACHABLE = "unreachable"
    SESSION = "session"
    REFUSED = "refused"


def outcome_of(exc: BaseException) -> Outcome:
    """What a placement that raised `exc` tells us about the order."""
    if isinstance(exc, kex.TokenException):
        return Outcome.SESSION
    if isinstance(exc, kex.NetworkException | kex.GeneralException):
        if getattr(exc, "code", 0) == 429:
            return Outcome.RETRY
        return Outcome.AMBIGUOUS  # 5xx, or a gateway in between: it may have been placed
    if isinstance(exc, kex.DataException):
        return Outcome.AMBIGUOUS  # an answer we could not read: it may have been placed
    if isinstance(exc, kex.KiteException):
        return Outcome.REFUSED  # input, order, margin, permission: Kite decided, no order
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Outcome.UNREACHABLE
    if isinstance(exc, requests.exceptions.ConnectionError) and _never_connected(exc):
        return Outcome.UNREACHABLE
    return Outcome.AMBIGUOUS  # read timeouts, resets after send, anything unexpected


def _never_connected(exc: BaseException) -> bool:
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text


def describe(exc: BaseException) -> str:
    """A short, secret-free account of a failure (never the request: it carries the token)."""
    if isinstance(exc, kex.KiteException):
        return f"{type(exc).__name__} ({getattr(exc, 'code', '?')}): {exc}"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"{type(exc).__name__}: no answer in time"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"{type(exc).__name__}: " + (
            "connection refused" if _never_connected(exc) else "connection lost"
        )
    return type(exc).__name__


class KiteCalls:
    """One thread for one account's calls; `close()` is safe twice and never waits for a
    call in flight (the client's own timeout ends it)."""

    def __init__(self, name: str) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=name)
        self.calls = 0

    async def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        self.calls += 1
        return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
