"""The bridge's pull loop on a durable consumer, with an inbox of its own per epoch.

Like the runtime's `PullFeeder` it keeps `batch` messages requested (refilled at half, with
idle heartbeats), but its inbox lives and dies with one epoch of the bridge: once an epoch
ends, nothing its pull requests still fetch can reach the next one. (Those deliveries are
unacked and the next epoch recreates the consumer at its ack floor anyway.) Ordering is
what the bridge's exactly-once argument rests on, so it does not share inboxes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Final

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from supervisors.bus import Bus
from supervisors.consumer import ConsumerLost

__all__ = ["EpochFeeder"]

log = logging.getLogger(__name__)

_STATUS: Final = "Status"
_PENDING: Final = "Nats-Pending-Messages"


class EpochFeeder:
    """Hands every delivery of `stream`/`durable` to `deliver` (synchronously, in order)."""

    def __init__(
        self,
        bus: Bus,
        stream: str,
        durable: str,
        deliver: Callable[[Msg], None],
        *,
        batch: int = 1000,
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
        self._stopped = False
        self.fatal: str | None = None

    async def start(self) -> None:
        self._inbox = self._bus.nc.new_inbox()
        self._sub = await self._bus.nc.subscribe(
            self._inbox, cb=self._on_msg, pending_msgs_limit=self._batch * 4 + 64
        )
        await self._pull(self._batch)

    async def stop(self) -> None:
        self._stopped = True
        sub, self._sub = self._sub, None
        if sub is not None:
            try:
                await sub.unsubscribe()
            except Exception:  # connection closed: nothing to unsubscribe
                pass

    async def watchdog(self) -> None:
        """Re-issue the pull request when it expired or a reconnect dropped it."""
        loop = asyncio.get_running_loop()
        self._last_seen = issued = loop.time()
        while not self._stopped:
            await asyncio.sleep(min(self._expires_s, self._heartbeat_s * 2))
            if self.fatal:
                raise ConsumerLost(f"{self._api}: {self.fatal}")
            now = loop.time()
            stale = now - self._last_seen > self._heartbeat_s * 3
            if (stale or now - issued >= self._expires_s * 0.9) and self._bus.connected:
                self._outstanding = 0
                await self._pull(self._batch)
                issued = self._last_seen = now

    async def _pull(self, n: int) -> None:
        if self._stopped or n <= 0:
            return
        request = {
            "batch": n,
            "expires": int(self._expires_s * 1e9),
            "idle_heartbeat": int(self._heartbeat_s * 1e9),
        }
        try:
            await self._bus.nc.publish(self._api, json.dumps(request).encode(), reply=self._inbox)
        except Exception as exc:  # reconnecting: the watchdog re-issues
            log.debug("bridge pull request failed: %s", exc)
            return
        self._outstanding += n

    async def _on_msg(self, msg: Msg) -> None:
        if self._stopped:
            return
        self._last_seen = asyncio.get_running_loop().time()
        headers = msg.headers
        status = headers.get(_STATUS) if headers else None
        if status:
            if status == "100":  # idle heartbeat or flow control
                if msg.reply:
                    await self._bus.nc.publish(msg.reply, b"")
                return
            # 404 no messages, 408 request expired, 409 consumer state: the request ended
            pending = int(headers.get(_PENDING, "0")) if headers else 0
            self._outstanding = max(0, self._outstanding - pending) if pending else 0
            if status == "409" and "Consumer Deleted" in (headers or {}).get("Description", ""):
                self.fatal = "the durable consumer was deleted"
                return
        else:
            self._outstanding = max(0, self._outstanding - 1)
            self._deliver(msg)
        if self._outstanding <= self._batch // 2:
            await self._pull(self._batch - self._outstanding)
