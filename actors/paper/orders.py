"""The paper order and its lifecycle, an explicit `(state, trigger) -> state` table.

    SUBMITTED --accept--> ACCEPTED --partial_fill--> PARTIALLY_FILLED --fill--> FILLED
        |                    |  \\--fill--> FILLED          |  ^ partial_fill
        \\--reject--> REJECTED  \\--cancel--> CANCELLED <--cancel--/

Anything not in the table raises `IllegalTransition`: a fill on a cancelled order is a bug
to surface, never something to paper over.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from types import MappingProxyType

import msgspec

from actors.errors import IllegalTransition
from schemas.enums import OrderStatus, OrderType, Side

__all__ = [
    "OrderTrigger",
    "TRANSITIONS",
    "TERMINAL_STATES",
    "next_state",
    "PaperOrder",
    "AVERAGE_PRICE_QUANTUM",
]

#: average prices are reported exactly when they fit 1/100 paisa, else rounded to it (half
#: even); fill prices and turnover are always exact
AVERAGE_PRICE_QUANTUM = Decimal("0.0001")


class OrderTrigger(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"
    CANCEL = "cancel"


_S = OrderStatus
_T = OrderTrigger

TRANSITIONS: MappingProxyType[tuple[OrderStatus, OrderTrigger], OrderStatus] = MappingProxyType(
    {
        (_S.SUBMITTED, _T.ACCEPT): _S.ACCEPTED,
        (_S.SUBMITTED, _T.REJECT): _S.REJECTED,
        (_S.ACCEPTED, _T.PARTIAL_FILL): _S.PARTIALLY_FILLED,
        (_S.ACCEPTED, _T.FILL): _S.FILLED,
        (_S.ACCEPTED, _T.CANCEL): _S.CANCELLED,
        (_S.PARTIALLY_FILLED, _T.PARTIAL_FILL): _S.PARTIALLY_FILLED,
        (_S.PARTIALLY_FILLED, _T.FILL): _S.FILLED,
        (_S.PARTIALLY_FILLED, _T.CANCEL): _S.CANCELLED,
    }
)

TERMINAL_STATES = frozenset({_S.FILLED, _S.REJECTED, _S.CANCELLED})
# triggers as module aliases: an enum class attribute is a slow lookup on Python 3.11, and
# every fill makes a transition
_FILL, _PARTIAL_FILL = _T.FILL, _T.PARTIAL_FILL


def next_state(state: OrderStatus, trigger: OrderTrigger, client_order_id: str = "") -> OrderStatus:
    """The state after `trigger`, or `IllegalTransition`."""
    try:
        return TRANSITIONS[(state, trigger)]
    except KeyError:
        allowed = [t.value for (s, t) in TRANSITIONS if s is state]
        raise IllegalTransition(state, trigger, allowed, client_order_id) from None


class PaperOrder(msgspec.Struct, kw_only=True):
    """One order as the paper broker holds it (mutable; JSON-able for snapshots)."""

    client_order_id: str
    broker_order_id: str
    strategy_id: str
    instrument_token: int
    side: Side
    quantity: int
    order_type: OrderType
    limit_price: Decimal | None = None
    signal_id: str = ""
    symbol: str | None = None
    tick_ts: int = 0
    state: OrderStatus = OrderStatus.SUBMITTED
    filled_quantity: int = 0
    turnover: Decimal = Decimal(0)
    fill_count: int = 0
    updated_ns: int = 0

    @property
    def remaining(self) -> int:
        return self.quantity - self.filled_quantity

    @property
    def is_open(self) -> bool:
        return self.state not in TERMINAL_STATES

    @property
    def average_price(self) -> Decimal:
        if self.filled_quantity == 0:
            return Decimal(0)
        avg = self.turnover / self.filled_quantity
        rounded = avg.quantize(AVERAGE_PRICE_QUANTUM, ROUND_HALF_EVEN)
        if avg == rounded:
            return avg  # exact within the quantum: keep it as is
        return rounded

    def can(self, trigger: OrderTrigger) -> bool:
        return (self.state, trigger) in TRANSITIONS

    def transition(self, trigger: OrderTrigger) -> OrderStatus:
        # the table directly (every fill makes a transition); `next_state` names the error
        state = TRANSITIONS.get((self.state, trigger))
        if state is None:
            state = next_state(self.state, trigger, self.client_order_id)
        self.state = state
        return state

    def record_fill(self, quantity: int, price: Decimal) -> None:
        """Apply one execution: FILL when it completes the order, else PARTIAL_FILL."""
        if quantity <= 0:
            raise ValueError(f"order {self.client_order_id!r}: fill quantity must be > 0")
        if quantity > self.remaining:
            raise ValueError(
                f"order {self.client_order_id!r}: overfill, {quantity} > remaining {self.remaining}"
            )
        final = quantity == self.remaining
        self.transition(_FILL if final else _PARTIAL_FILL)
        self.filled_quantity += quantity
        self.turnover += price * quantity
        self.fill_count += 1
