"""Pipelined JetStream publishes: one reply inbox, a future per message, a bounded window.

nats-py's `publish_async` waits for its window semaphore through `asyncio.wait_for`, which
wraps the wait in a new task: every publish then costs two trips through the event loop
before its bytes are even queued, and an actor emitting three outputs pays that three
times before the last one leaves. Here a free slot is taken without suspending (the wait
happens only when the window is full), and the replies are matched to futures by the
reply subject's token, as nats-py does.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import msgspec
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import PubAck
from nats.js.errors import APIError, NoStreamResponseError

__all__ = ["PubAckWindow"]

_NO_RESPONDERS = "503"
_decode_reply = msgspec.json.Decoder(dict[str, Any])


class PubAckWindow:
    """At most `max_pending` publishes awaiting their stream acknowledgement at once."""

    def __init__(self, nc: NatsClient, max_pending: int = 4000) -> None:
        self._nc = nc
        self._prefix = ""
        self._sub: Subscription | None = None
        self._start_lock = asyncio.Lock()
        self._free = max_pending  # slots in the window
        self._waiters: deque[asyncio.Future[None]] = deque()  # publishers waiting for one
        self._futures: dict[str, asyncio.Future[PubAck]] = {}
        self._next = 0

    @property
    def pending(self) -> int:
        return len(self._futures)

    async def publish(
        self, subject: str, payload: bytes, headers: dict[str, str], stall_s: float
    ) -> asyncio.Future[PubAck]:
        """Send now; the future resolves with the PubAck (or the stream's error).

        Raises TimeoutError when the window stays full for `stall_s`.
        """
        if self._sub is None:
            await self._start()
        if self._free <= 0:
            await self._wait_for_slot(stall_s)
        self._free -= 1
        self._next += 1
        token = str(self._next)
        future: asyncio.Future[PubAck] = asyncio.get_running_loop().create_future()
        self._futures[token] = future
        future.add_done_callback(lambda _: self._settled(token))
        try:
            await self._nc.publish(subject, payload, reply=self._prefix + token, headers=headers)
        except BaseException:
            future.cancel()
            raise
        return future

    def _settled(self, token: str) -> None:
        self._futures.pop(token, None)
        self._free += 1
        self._wake_next()

    async def _wait_for_slot(self, stall_s: float) -> None:
        """The window is full: wait until an acknowledgement frees a slot."""
        async with asyncio.timeout(stall_s):
            while self._free <= 0:  # woken, but another publisher took the slot first
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                try:
                    await waiter
                except BaseException:
                    if waiter.done() and not waiter.cancelled():
                        self._wake_next()  # woken as we timed out: pass the wake-up on
                    raise

    def _wake_next(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _start(self) -> None:
        async with self._start_lock:
            if self._sub is None:
                prefix = self._nc.new_inbox() + "."
                self._sub = await self._nc.subscribe(prefix + "*", cb=self._on_reply)
                self._prefix = prefix

    async def _on_reply(self, msg: Msg) -> None:
        future = self._futures.get(msg.subject[len(self._prefix) :])
        if future is None or future.done():
            return
        if msg.headers and msg.headers.get("Status") == _NO_RESPONDERS:
            future.set_exception(NoStreamResponseError())
            return
        try:
            reply = _decode_reply.decode(msg.data)
        except msgspec.DecodeError as exc:
            future.set_exception(exc)
            return
        if "error" in reply:
            future.set_exception(APIError.from_error(reply["error"]))
            return
        try:  # built directly: PubAck.from_response introspects the dataclass every time
            ack = PubAck(
                stream=reply["stream"], seq=reply["seq"], domain=reply.get("domain"),
                duplicate=reply.get("duplicate"),
            )  # fmt: skip
        except KeyError as exc:
            future.set_exception(exc)
            return
        future.set_result(ack)
