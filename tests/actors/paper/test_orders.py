"""The paper order's lifecycle: an explicit (state, trigger) -> state table."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from actors.errors import IllegalTransition
from actors.paper.orders import TRANSITIONS, OrderTrigger, PaperOrder, next_state
from schemas.enums import OrderStatus, OrderType, Side

S = OrderStatus
T = OrderTrigger

LEGAL = {
    (S.SUBMITTED, T.ACCEPT): S.ACCEPTED,
    (S.SUBMITTED, T.REJECT): S.REJECTED,
    (S.ACCEPTED, T.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.ACCEPTED, T.FILL): S.FILLED,
    (S.ACCEPTED, T.CANCEL): S.CANCELLED,
    (S.PARTIALLY_FILLED, T.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, T.FILL): S.FILLED,
    (S.PARTIALLY_FILLED, T.CANCEL): S.CANCELLED,
}


def _order(quantity: int = 10) -> PaperOrder:
    return PaperOrder(
        client_order_id="c1",
        broker_order_id="P-c1",
        strategy_id="s",
        instrument_token=1,
        side=Side.BUY,
        quantity=quantity,
        order_type=OrderType.MARKET,
    )


def test_the_table_holds_exactly_the_documented_transitions() -> None:
    assert dict(TRANSITIONS) == LEGAL


@pytest.mark.parametrize(("state", "trigger"), list(itertools.product(S, T)))
def test_every_pair_outside_the_table_raises_an_illegal_transition(
    state: OrderStatus, trigger: OrderTrigger
) -> None:
    if (state, trigger) in LEGAL:
        assert next_state(state, trigger) is LEGAL[(state, trigger)]
        return
    with pytest.raises(IllegalTransition) as info:
        next_state(state, trigger)
    assert (info.value.state, info.value.trigger) == (state, trigger)
    assert state.value in str(info.value)


def test_terminal_states_accept_no_trigger_at_all() -> None:
    for state in (S.FILLED, S.REJECTED, S.CANCELLED):
        for trigger in T:
            with pytest.raises(IllegalTransition):
                next_state(state, trigger)


def test_an_order_records_fills_with_cumulative_quantity_and_average_price() -> None:
    order = _order(quantity=10)
    order.transition(T.ACCEPT)
    # 4 @ 100.00 then 6 @ 100.05: average (400 + 600.30) / 10 = 100.03
    order.record_fill(4, Decimal("100.00"))
    states = [order.state]
    order.record_fill(6, Decimal("100.05"))
    states.append(order.state)
    assert states == [S.PARTIALLY_FILLED, S.FILLED]
    assert order.filled_quantity == 10
    assert order.average_price == Decimal("100.03")
    assert order.turnover == Decimal("1000.30")
    assert order.fill_count == 2


def test_an_order_cannot_fill_more_than_its_quantity() -> None:
    order = _order(quantity=5)
    order.transition(T.ACCEPT)
    with pytest.raises(ValueError, match="overfill"):
        order.record_fill(6, Decimal("1"))


def test_a_filled_order_cannot_be_cancelled() -> None:
    order = _order(quantity=1)
    order.transition(T.ACCEPT)
    order.record_fill(1, Decimal("10"))
    with pytest.raises(IllegalTransition, match="FILLED"):
        order.transition(T.CANCEL)
    assert order.state is S.FILLED
