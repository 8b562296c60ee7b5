"""The paper venue: the `Venue` protocol on the paper broker's matching, synchronous and pure."""

from __future__ import annotations

from collections.abc import Iterable

from actors.execution.venue import Cancel, Instruction, MarketUpdate, Place
from actors.paper.matching import PaperBroker
from actors.paper.orders import OrderTrigger, PaperOrder
from schemas.events import Event, OrderCancelled, OrderFilled

__all__ = ["PaperVenue"]


class PaperVenue:
    """Executes the desk's instructions on a `PaperBroker`."""

    def __init__(self, broker: PaperBroker) -> None:
        self.broker = broker
        self.max_signal_tick_age_ms = broker.config.max_signal_tick_age_ms

    def execute(self, instruction: Instruction) -> list[Event]:
        if isinstance(instruction, MarketUpdate):
            return self.broker.on_tick(instruction.tick, instruction.ts_ns)
        if isinstance(instruction, Place):
            return self.broker.submit(
                instruction.order, instruction.market, instruction.ts_ns,
                refusal=instruction.refusal,
            )  # fmt: skip
        assert isinstance(instruction, Cancel)
        return self.broker.cancel(
            instruction.client_order_id, instruction.reason, instruction.ts_ns
        )

    def order(self, client_order_id: str) -> PaperOrder | None:
        return self.broker.order(client_order_id)

    def open_orders(self) -> list[PaperOrder]:
        return self.broker.open_orders()

    def answer(self, client_order_id: str) -> list[Event]:
        return self.broker.answer(client_order_id)

    def absorb_fill(self, fill: OrderFilled) -> None:
        """Make the book agree with a fill read back from the stream (replay after a crash)."""
        po = self.broker.order(fill.client_order_id)
        if po is None or fill.cumulative_quantity <= po.filled_quantity:
            return
        po.record_fill(fill.cumulative_quantity - po.filled_quantity, fill.price)
        po.fill_count = max(po.fill_count, int(fill.fill_id.rsplit("-F", 1)[-1] or 0))

    def absorb_cancel(self, cancelled: OrderCancelled) -> None:
        po = self.broker.order(cancelled.client_order_id)
        if po is not None and po.can(OrderTrigger.CANCEL):
            po.transition(OrderTrigger.CANCEL)

    def orders_state(self) -> list[PaperOrder]:
        return self.broker.open_orders()

    def restore_orders(self, orders: Iterable[PaperOrder]) -> None:
        self.broker.restore_orders(orders)
