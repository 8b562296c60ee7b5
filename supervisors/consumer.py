"""A continuous pull consumer: low latency like push, bounded like pull.

nats-py's `fetch(n)` lingers until `n` messages or its timeout, which puts the timeout on
the latency path. Instead we keep pull requests outstanding (`batch` messages, `expires`
long, with idle heartbeats) and top them up when half are used, as the newer NATS
clients' `Consume()` does. Messages arrive on our inbox as soon as they are stored; the
callback blocks on the owner's bounded mailbox, so a slow actor slows its consumer.

Epochs. Every `start()` opens an epoch with an inbox of its own, and `stop()` (or the next
`start()`) ends it. A pull request lives on the server until it expires, so the deliveries
it still fetches after its epoch ended land on the old inbox, and the feeder drops them
there: nothing an earlier epoch asked for ever reaches the owner during a later one. The
bridge relies on this: it recreates its consumer at the ack floor for every epoch and needs
the deliveries of the new one, in order, from the floor on (`bridge.mirror.consumers`).
Dropped deliveries stay unacked; the server delivers them again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from supervisors.bus import Bus, Msg, Subscription
from supervisors.errors import ConsumerLost

# ConsumerLost is defined in supervisors.errors; it stays importable from here, where
# the bridge's feeder has always found it.
__all__ = ["PullFeeder", "ConsumerLost"]

log = logging.getLogger(__name__)

_STATUS: Final = "Status"
_PENDING: Final = "Nats-Pending-Messages"


class PullFeeder:
    """Keeps `batch` messages requested from a durable consumer and hands each to `deliver`,
    in order, one at a time, for as long as the epoch it was fetched in lasts."""

    def __init__(
        self,
        bus: Bus,
        stream: str,
        durable: str,
        deliver: Callable[[Msg], Awaitable[None]],
        *,
        batch: int = 128,
        expires_s: float = 15.0,
        heartbeat_s: float = 2.0,
    ) -> None:
        self._bus = bus
        self._api = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._deliver = deliver
        self._batch = max(1, batch)
        self._expires_s = expires_s
        self._heartbeat_s = heartbeat_s
        self._outstanding = 0
        self._inbox = ""
        self._sub: Subscription | None = None
        self._last_seen = 0.0
        self._running = False
        self.epoch = 0
        self.errors = 0
        self.fatal: str | None = None

    async def start(self) -> None:
        """Open a new epoch (ending the current one, if any) and issue its first pull."""
        await self._end_epoch()
        self.epoch += 1
        epoch = self.epoch
        self._outstanding = 0
        self.fatal = None
        self._inbox = self._bus.nc.new_inbox()

        async def on_msg(msg: Msg) -> None:
            if epoch == self.epoch and self._running:
                await self._on_msg(msg)
            # else: fetched for an epoch that ended; unacked, so delivered again

        self._sub = await self._bus.nc.subscribe(
            self._inbox, cb=on_msg, pending_msgs_limit=self._batch * 4 + 64
        )
        self._running = True
        await self._pull(self._batch)

    async def stop(self) -> None:
        """End the epoch. Messages already delivered but not handled stay unacked."""
        await self._end_epoch()

    async def _end_epoch(self) -> None:
        self._running = False
        sub, self._sub = self._sub, None
        if sub is not None:
            try:
                await sub.unsubscribe()
            except Exception:  # connection already closed: nothing to unsubscribe
                pass

    async def watchdog(self) -> None:
        """Re-issue pull requests when they expired or the connection dropped them, until
        the epoch it was started in ends.

        Runs as one of the owner's tasks; a pull request outlives neither its `expires` nor
        a reconnect, and missed heartbeats are how we learn of the latter.
        """
        epoch = self.epoch
        loop = asyncio.get_running_loop()
        self._last_seen = loop.time()
        period = min(self._expires_s, self._heartbeat_s * 2)
        issued = loop.time()
        while self._running and epoch == self.epoch:
            await asyncio.sleep(period)
            if epoch != self.epoch:
                return
            if self.fatal:
                raise ConsumerLost(f"{self._api}: {self.fatal}; its owner restarts to recreate it")
            now = loop.time()
            stale = now - self._last_seen > self._heartbeat_s * 3
            expired = now - issued >= self._expires_s * 0.9
            if (stale or expired) and self._bus.connected:
                self._outstanding = 0
                await self._pull(self._batch)
                issued = now
                self._last_seen = now

    async def _pull(self, n: int) -> None:
        if not self._running or n <= 0:
            return
        request = {
            "batch": n,
            "expires": int(self._expires_s * 1e9),
            "idle_heartbeat": int(self._heartbeat_s * 1e9),
        }
        try:
            await self._bus.nc.publish(self._api, json.dumps(request).encode(), reply=self._inbox)
        except Exception as exc:  # reconnecting: the watchdog re-issues
            self.errors += 1
            log.debug("pull request failed: %s", exc)
            return
        self._outstanding += n

    async def _on_msg(self, msg: Msg) -> None:
        self._last_seen = asyncio.get_running_loop().time()
        headers = msg.headers
        status = headers.get(_STATUS) if headers else None
        if status:
            if status == "100":  # idle heartbeat or flow control
                if msg.reply:
                    await self._bus.nc.publish(msg.reply, b"")
                return
            # 404 no messages / 408 request expired / 409 consumer state: the request ended
            pending = int(headers.get(_PENDING, "0")) if headers else 0
            self._outstanding = max(0, self._outstanding - pending) if pending else 0
            if status == "409" and "Consumer Deleted" in (headers or {}).get("Description", ""):
                self.fatal = "the durable consumer was deleted"
                return
        else:
            self._outstanding = max(0, self._outstanding - 1)
            await self._deliver(msg)  # blocks while the mailbox is full: no new pulls meanwhile
        if self._outstanding <= self._batch // 2:
            await self._pull(self._batch - self._outstanding)
