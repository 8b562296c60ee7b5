"""The bounded hand-over from the ticker's reactor thread to the feed's asyncio loop.

The reactor thread must never block on a slow consumer (it also carries heartbeats and the
other shards), and the loop must never hold an unbounded backlog: a full queue drops the new
item and counts it. The reactor thread wakes the loop only when the queue goes from empty to
non-empty, so a busy feed costs one `call_soon_threadsafe` per batch, not per tick.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import Generic, TypeVar

__all__ = ["BridgeQueue"]

T = TypeVar("T")


class BridgeQueue(Generic[T]):
    """`put` from any thread (never blocks); `get_batch` from the loop it was made on."""

    def __init__(self, maxsize: int, loop: asyncio.AbstractEventLoop) -> None:
        if maxsize < 1:
            raise ValueError(f"the bridge queue needs room for at least one item, got {maxsize}")
        self.maxsize = maxsize
        self.dropped = 0
        self.high_water = 0
        self._loop = loop
        self._items: deque[T] = deque()
        self._lock = threading.Lock()
        self._waiting = False
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T) -> bool:
        """Queue `item`, or count it dropped when full; False when dropped."""
        with self._lock:
            if len(self._items) >= self.maxsize:
                self.dropped += 1
                return False
            self._items.append(item)
            self.high_water = max(self.high_water, len(self._items))
            wake, self._waiting = self._waiting, False
        if wake:
            try:
                self._loop.call_soon_threadsafe(self._ready.set)
            except RuntimeError:  # the loop is closed: the feed is gone, nobody to wake
                pass
        return True

    async def get_batch(self, limit: int) -> list[T]:
        """Wait for at least one item; return up to `limit` of them, oldest first."""
        while True:
            with self._lock:
                if self._items:
                    count = min(limit, len(self._items))
                    return [self._items.popleft() for _ in range(count)]
                self._waiting = True
                self._ready.clear()
            await self._ready.wait()
