"""The paper execution actor's snapshot holds its open orders, not the day's history."""

from __future__ import annotations

from decimal import Decimal

from actors.paper.actor import PaperExecution
from actors.paper.matching import PaperBroker
from schemas.enums import OrderType, Side
from schemas.envelope import encode, new_envelope
from schemas.events import Depth, DepthLevel, MarketTick, TradingSignal, ValidatedSignal
from schemas.names import tick_subject
from supervisors.actor import Context

TOKEN = 408065
TICK_SEQ = 7
STORED_MS = 1_700_000_000_000


def validated(n: int, order_type: OrderType, limit: str | None = None) -> ValidatedSignal:
    signal = TradingSignal(
        strategy_id="s", instrument_token=TOKEN, side=Side.BUY, quantity=1,
        reference_price=Decimal("1500.00"), bid=Decimal("1499.95"), ask=Decimal("1500.05"),
        order_type=order_type, limit_price=Decimal(limit) if limit else None, tick_ts=1,
        tick_seq=TICK_SEQ,
    )  # fmt: skip
    return ValidatedSignal(signal_id=f"sig{n}", client_order_id=f"sig{n}", signal=signal)


def receive_tick(actor: PaperExecution) -> None:
    """The tick the signals name, as execution received it from MARKET."""
    depth = Depth(
        buy=[DepthLevel(price=Decimal("1499.95"), quantity=500)],
        sell=[DepthLevel(price=Decimal("1500.05"), quantity=500)],
    )
    tick = MarketTick(instrument_token=TOKEN, last_price=Decimal("1500.00"), depth=depth)
    env = new_envelope(tick, source="feed", ts=1)
    actor.ticks.remember(tick_subject(TOKEN), TICK_SEQ, encode(env), STORED_MS)


def context(actor: PaperExecution) -> Context:
    return Context(actor.name, "paper", stored_ms=STORED_MS + 1)


async def test_filled_orders_leave_the_snapshot_and_resting_ones_survive_a_restore() -> None:
    actor = PaperExecution("paper", PaperBroker(), tokens=[TOKEN])
    receive_tick(actor)
    for n in range(50):
        await actor._submit(validated(n, OrderType.MARKET), 1, context(actor))
    await actor._submit(validated(99, OrderType.LIMIT, "1400.00"), 1, context(actor))
    state = actor.dump_state()
    assert [o.client_order_id for o in state.book.orders] == ["sig99"]
    assert state.counts[:2] == (51, 50)

    successor = PaperExecution("paper", PaperBroker(), tokens=[TOKEN])
    successor.load_state(state)
    assert [o.client_order_id for o in successor.book.open_orders()] == ["sig99"]
    assert successor._resting == {"408065"}
