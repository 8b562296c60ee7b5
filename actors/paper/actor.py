"""Paper execution (one per broker namespace): the execution shell on the paper venue.

An order is priced from the tick its signal names, as execution itself received it from
MARKET, depth included, never from prices the signal claims. A signal naming no tick
MARKET holds for its instrument fails UNKNOWN_TICK, one whose tick is older than
`max_signal_tick_age_ms` fails STALE_TICK. The tick at a sequence never changes, so a
replayed signal fills as it did. Limit orders rest in the paper book and fill when a later
tick crosses them; such fills are recorded in the stream and read back on replay, so a
restarted book never fills an order twice. The decisions are the execution desk's
(`actors.execution.desk`), the matching the paper broker's (`actors.paper.matching`).
"""

from __future__ import annotations

from collections.abc import Collection

import msgspec

from actors.execution.actor import ExecutionActor
from actors.paper.matching import PaperBroker
from actors.paper.orders import PaperOrder
from actors.paper.venue import PaperVenue
from actors.stores.pipeline_metrics import PipelineMetrics
from schemas.names import Broker

__all__ = ["PaperExecution", "ExecutionSnapshot", "BookSnapshot"]


class BookSnapshot(msgspec.Struct, kw_only=True):
    orders: list[PaperOrder] = msgspec.field(default_factory=list)


class ExecutionSnapshot(msgspec.Struct, kw_only=True):
    """Paper execution's snapshot: the open orders, and (orders, fills, failed, cancelled)."""

    book: BookSnapshot
    counts: tuple[int, int, int, int] = (0, 0, 0, 0)


class PaperExecution(ExecutionActor):
    state_type = ExecutionSnapshot

    def __init__(
        self,
        broker: Broker,
        paper: PaperBroker,
        *,
        limit_ttl_s: float = 60.0,
        metrics: PipelineMetrics | None = None,
        tokens: Collection[int] = (),
    ) -> None:
        self.book = paper
        super().__init__(
            broker, PaperVenue(paper), limit_ttl_s=limit_ttl_s, metrics=metrics, tokens=tokens
        )

    def dump_state(self) -> ExecutionSnapshot:
        """Open orders only. A closed order's signal lies at or below the snapshot's
        sequence, so the runtime never hands it to us again: remembering it would only
        grow the snapshot with the day (a KV value is capped at the server's 1 MiB)."""
        return ExecutionSnapshot(
            book=BookSnapshot(orders=self.book.open_orders()),
            counts=(self.orders, self.fills, self.failed, self.cancelled),
        )

    def load_state(self, state: ExecutionSnapshot) -> None:
        self.book.restore_orders(state.book.orders)
        self.orders, self.fills, self.failed, self.cancelled = state.counts
        self._refresh_resting()
