"""The drift monitor: reads both brokers' fills and keeps the paper-versus-live drift.

It runs when the live broker trades beside paper (`ALPHA_PANDA_BROKERS=paper,zerodha`). It
only observes: two ordered consumers on `<broker>.orders.filled`, from the start of each
stream, so a restart recomputes the same figures, and no output. Its figures appear in
`alpha-panda status` under "drift" (`DriftBook` holds the rules).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from actors.drift.book import DriftBook
from schemas.envelope import Envelope
from schemas.events import OrderFilled
from schemas.names import ORDERS_FILLED, Broker, broker_subject, stream_for_broker
from supervisors.actor import Actor, Context, Input, Ordered

__all__ = ["DriftMonitor"]


def _from_start() -> int:
    return 1


class DriftMonitor(Actor):
    """Pairs live fills with paper fills of the same signal (see `actors.drift.book`)."""

    name = "drift-monitor"
    mailbox_size = 1024

    def __init__(
        self,
        live: Broker = "zerodha",
        paper: Broker = "paper",
        *,
        strategies: frozenset[str] | None = None,
    ) -> None:
        """`strategies`: those configured on both brokers (None: every one)."""
        self.live: Broker = live
        self.paper: Broker = paper
        self.book = DriftBook(live, paper, strategies=strategies)
        self.fills = 0

    def inputs(self) -> Sequence[Input]:
        return tuple(
            Ordered(
                stream_for_broker(b).name, broker_subject(b, ORDERS_FILLED),
                self._handler(b), OrderFilled, start_seq=_from_start,
            )
            for b in (self.paper, self.live)
        )  # fmt: skip

    def _handler(self, broker: Broker) -> Any:
        async def on_fill(env: Envelope[OrderFilled], ctx: Context) -> None:
            self.fills += 1
            self.book.on_fill(broker, env.data)

        return on_fill

    def stats(self) -> dict[str, Any]:
        return {"drift": {**self.book.to_status(), "fills_read": self.fills}}
