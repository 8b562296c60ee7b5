"""The tick pacing every benchmark source shares, and the payloads of the baselines.

`paced` sends batches exactly as the market feed's mock loop does (`actors/feed/actor.py`):
whatever is due at the target rate, at most `window` at a time, each batch sent
pipelined and its acknowledgements awaited before the next. The baselines reuse it so
their sources behave like the feed, not like a faster or slower loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["MessageSizes", "paced", "stamp", "stamped_ts", "wait_until"]

_TS_DIGITS = 19  # time.time_ns() has 19 digits until 2286


@dataclass(frozen=True, slots=True)
class MessageSizes:
    """Body sizes in bytes of the messages on the tick → fill path (envelopes as sent)."""

    tick: int
    signal: int
    validated: int
    submitted: int
    accepted: int
    filled: int
    headers: int  # Nats-Msg-Id and Alpha-Type, encoded, of a typical message

    def as_dict(self) -> dict[str, int]:
        return {
            "tick": self.tick,
            "signal": self.signal,
            "validated": self.validated,
            "submitted": self.submitted,
            "accepted": self.accepted,
            "filled": self.filled,
            "headers": self.headers,
        }


def stamp(ts_ns: int, size: int) -> bytes:
    """A payload of `size` bytes that starts with the origin timestamp (ns, ASCII)."""
    head = b"%019d" % ts_ns
    return head + b"x" * max(0, size - _TS_DIGITS)


def stamped_ts(payload: bytes) -> int:
    return int(payload[:_TS_DIGITS])


async def paced(
    rate_per_s: float,
    total: int,
    send: Callable[[int, int], Awaitable[None]],
    *,
    window: int = 512,
) -> None:
    """Call `send(first_index, count)` for batches of due messages until `total` are sent."""
    start = time.monotonic()
    sent = 0
    nap = max(0.001, min(0.005, 1 / rate_per_s))  # uvloop rounds a shorter sleep down to 0
    while sent < total:
        due = min(int((time.monotonic() - start) * rate_per_s), total) - sent
        if due <= 0:
            await asyncio.sleep(nap)
            continue
        count = min(due, window)
        await send(sent, count)
        sent += count


async def wait_until(done: Callable[[], bool], timeout_s: float, poll_s: float = 0.05) -> bool:
    """Poll `done` until it holds (True) or `timeout_s` passes (False)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if done():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(poll_s)
