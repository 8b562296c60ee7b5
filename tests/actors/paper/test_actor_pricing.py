"""Execution prices an arriving order from the tick its signal names, as execution itself
received it, depth included, and fails an order whose tick it cannot vouch for."""

from __future__ import annotations

from decimal import Decimal

from actors.paper.actor import PaperExecution
from actors.paper.matching import PaperBroker, PaperConfig
from schemas.enums import OrderFailReason, Side
from schemas.envelope import encode, new_envelope
from schemas.events import (
    Depth,
    DepthLevel,
    MarketTick,
    OrderFailed,
    OrderFilled,
    TradingSignal,
    ValidatedSignal,
)
from schemas.names import tick_subject
from supervisors.actor import Context
from tests.actors.paper.factories import NO_CHARGES

D = Decimal
MARUTI = 2815745
STORED_MS = 1_700_000_000_000


def execution(partial_fills: bool = False) -> PaperExecution:
    config = PaperConfig(partial_fills=partial_fills, max_signal_tick_age_ms=1_000)
    return PaperExecution("paper", PaperBroker(config, NO_CHARGES), tokens=[MARUTI])


def levels(*rows: tuple[str, int]) -> list[DepthLevel]:
    return [DepthLevel(price=D(p), quantity=q) for p, q in rows]


def receive(actor: PaperExecution, seq: int, tick: MarketTick) -> str:
    env = new_envelope(tick, source="market-feed", ts=5)
    actor.ticks.remember(tick_subject(tick.instrument_token), seq, encode(env), STORED_MS)
    return env.id


def forged(side: Side, quantity: int, seq: int, tick_id: str = "") -> ValidatedSignal:
    """Every price says 100.05: none of it may reach a fill."""
    signal = TradingSignal(
        strategy_id="s", instrument_token=MARUTI, side=side, quantity=quantity,
        reference_price=D("100.05"), bid=D("100.00"), ask=D("100.05"), tick_seq=seq,
        tick_id=tick_id,
    )  # fmt: skip
    return ValidatedSignal(signal_id="sig-1", client_order_id="sig-1", signal=signal)


async def submit(
    actor: PaperExecution, validated: ValidatedSignal, after_ms: int = 2
) -> list[object]:
    ctx = Context(actor.name, "paper", stored_ms=STORED_MS + after_ms)
    await actor._submit(validated, 1, ctx)
    return [out.envelope.data for out in ctx.outputs]


BOOK = MarketTick(
    instrument_token=MARUTI,
    last_price=D("12500.00"),
    depth=Depth(
        buy=levels(("12499.95", 12), ("12499.90", 10), ("12499.85", 5)),
        sell=levels(("12500.05", 184), ("12500.10", 300)),
    ),
)


async def test_a_market_order_fills_at_the_named_ticks_touch_not_the_signals_price() -> None:
    actor = execution()
    tick_id = receive(actor, 41, BOOK)
    events = await submit(actor, forged(Side.BUY, 30, 41, tick_id))
    fills = [e for e in events if isinstance(e, OrderFilled)]
    # the best ask of tick 41 is 12500.05; the signal's 100.05 is nowhere
    assert [(f.quantity, f.price) for f in fills] == [(30, D("12500.05"))]


async def test_an_arriving_sell_walks_the_bids_of_the_named_tick_with_partial_fills() -> None:
    actor = execution(partial_fills=True)
    receive(actor, 41, BOOK)
    events = await submit(actor, forged(Side.SELL, 30, 41))
    fills = [e for e in events if isinstance(e, OrderFilled)]
    # 12 at 12499.95, 10 at 12499.90, and the 5 quoted at 12499.85 take the other 8 too:
    # a market order sweeps the book and rests nothing (12 + 10 + 8 = 30)
    assert [(f.quantity, f.price, f.cumulative_quantity, f.final) for f in fills] == [
        (12, D("12499.95"), 12, False),
        (10, D("12499.90"), 22, False),
        (8, D("12499.85"), 30, True),
    ]
    # average = (12 x 12499.95 + 10 x 12499.90 + 8 x 12499.85) / 30
    #         = (149999.40 + 124999.00 + 99998.80) / 30 = 374997.20 / 30 = 12499.90666...
    assert fills[-1].average_price == D("12499.9067")


async def test_a_signal_naming_no_tick_or_another_tick_id_fails_unknown_tick() -> None:
    actor = execution()
    receive(actor, 41, BOOK)
    [_, failed] = await submit(actor, forged(Side.BUY, 1, 0))
    assert isinstance(failed, OrderFailed)
    assert failed.reason == OrderFailReason.UNKNOWN_TICK
    actor = execution()
    tick_id = receive(actor, 41, BOOK)
    [_, failed] = await submit(actor, forged(Side.BUY, 1, 41, "01FORGED"))
    assert isinstance(failed, OrderFailed)
    assert (failed.reason, failed.detail) == (
        OrderFailReason.UNKNOWN_TICK,
        f"MARKET sequence 41 holds tick {tick_id}, not 01FORGED",
    )


async def test_a_tick_older_than_the_bound_fails_the_order_stale() -> None:
    actor = execution()  # max_signal_tick_age_ms 1000
    receive(actor, 41, BOOK)
    [_, failed] = await submit(actor, forged(Side.BUY, 1, 41), after_ms=1_001)
    assert isinstance(failed, OrderFailed)
    assert (failed.reason, failed.detail) == (
        OrderFailReason.STALE_TICK,
        "tick 41 is 1001 ms older than the signal (max_signal_tick_age_ms 1000)",
    )
    assert actor.fills == 0
