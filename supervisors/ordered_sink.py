"""How an actor's `Ordered` input takes what its process's intake hands it (`Sink`).

The tap sees every message first; a message the actor's `accept` refuses while the actor
is idle is passed over without a trip through the mailbox (its state is the one the
handler would see); everything else goes to the actor's bounded mailbox, in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from supervisors.actor import Ordered
from supervisors.handling import ActorStats, Handling
from supervisors.intake import Delivery

__all__ = ["OrderedSink"]

log = logging.getLogger(__name__)


class OrderedSink:
    """The `Sink` of one `Ordered` input of one actor instance."""

    __slots__ = ("_accept", "_handling", "_idle", "_inp", "_mailbox", "_name", "_stats", "_tap")

    def __init__(
        self,
        name: str,
        inp: Ordered[Any],
        mailbox: asyncio.Queue[Any],
        idle: Callable[[], bool],
        stats: ActorStats,
        handling: Handling,
    ) -> None:
        self._name = name
        self._inp = inp
        self._mailbox = mailbox
        self._idle = idle
        self._stats = stats
        self._handling = handling
        self._tap = inp.tap
        self._accept = inp.accept

    def offer(self, delivery: Delivery) -> bool:
        mailbox = self._mailbox
        if mailbox.full():
            return False
        if not self._passed_over(delivery):
            mailbox.put_nowait((self._inp, delivery))
        return True

    async def deliver(self, delivery: Delivery) -> None:
        if not self._passed_over(delivery):
            await self._mailbox.put((self._inp, delivery))

    def _passed_over(self, delivery: Delivery) -> bool:
        """Run the tap; True when the actor, idle, refuses the message here."""
        tap = self._tap
        if tap is not None:
            try:
                tap(delivery.msg)
            except Exception:  # a cache that misses one message; never the consumer
                log.exception("%s: tap of %s failed", self._name, delivery.subject)
        accept = self._accept
        if accept is None:
            return False
        # Idle with an empty mailbox, the actor's state is the one its handler would see,
        # so a message it would refuse is refused here (most ticks, for execution and
        # portfolio). Busy, the mailbox decides in order.
        try:
            skip = self._idle() and not accept(delivery.subject)
        except Exception:  # the handler's path raises it again and reports it
            return False
        if skip:
            stats = self._stats
            stats.skipped += 1
            stats.last_seq = delivery.seq
            if self._inp.resume:  # as the handler would: the state includes this sequence
                self._handling.applied_seq = delivery.seq
        return skip
