"""The execution desk expires resting limit orders on market time, not on arrival time."""

from __future__ import annotations

from decimal import Decimal

from actors.execution.desk import ExecutionDesk
from actors.named_tick import NamedTick
from actors.paper.matching import PaperBroker
from actors.paper.venue import PaperVenue
from schemas.clock import SeededIds, SimClock
from schemas.enums import OrderType, Side
from schemas.events import (
    MarketTick,
    OrderAccepted,
    OrderCancelled,
    OrderSubmitted,
    TradingSignal,
    ValidatedSignal,
)

SECOND = 1_000_000_000
OPEN = 1_732_506_300 * SECOND
TOKEN = 408065


def tick(exchange_ns: int, price: str = "1500.00") -> MarketTick:
    return MarketTick(instrument_token=TOKEN, last_price=Decimal(price),
                      exchange_timestamp_ns=exchange_ns)  # fmt: skip


def resting_buy() -> ValidatedSignal:
    signal = TradingSignal(
        strategy_id="s", instrument_token=TOKEN, side=Side.BUY, quantity=1,
        reference_price=Decimal("1500.00"), order_type=OrderType.LIMIT,
        limit_price=Decimal("1400.00"), tick_seq=1,
    )  # fmt: skip
    return ValidatedSignal(signal_id="sig", client_order_id="sig", signal=signal)


def test_a_limit_order_expires_after_its_ttl_of_market_time_however_late_ticks_arrive() -> None:
    desk = ExecutionDesk(PaperVenue(PaperBroker()), limit_ttl_s=60)
    named = NamedTick(seq=1, tick_id="t1", ts=0, stored_ms=0, tick=tick(OPEN))
    events = desk.on_validated(resting_buy(), named, now_ns=10**18)  # arrived much later
    assert [type(e) for e in events] == [OrderSubmitted, OrderAccepted]
    # published an hour late, but 59 s of market time: still resting
    assert desk.on_tick(tick(OPEN + 59 * SECOND), OPEN + 3600 * SECOND) == []
    [cancel] = desk.on_tick(tick(OPEN + 61 * SECOND), OPEN + 61 * SECOND)
    assert isinstance(cancel, OrderCancelled) and cancel.reason == "expired (limit_ttl_s)"
    assert desk.resting_tokens() == set()


def test_a_redelivered_signal_gets_the_first_answer_without_a_market() -> None:
    desk = ExecutionDesk(PaperVenue(PaperBroker()))
    named = NamedTick(seq=1, tick_id="t1", ts=0, stored_ms=0, tick=tick(OPEN))
    first = desk.on_validated(resting_buy(), named, now_ns=OPEN)
    assert desk.on_validated(resting_buy(), None, now_ns=OPEN) == first[1:]


def test_seeded_ids_repeat_with_the_seed_and_increase_within_a_run() -> None:
    def run(seed: int) -> list[str]:
        clock = SimClock()
        ids = SeededIds(seed, clock)
        out = []
        for ts in (OPEN, OPEN, OPEN + SECOND):
            clock.set(ts)
            out.append(ids.next_id())
        return out

    assert run(3) == run(3) != run(4)
    assert run(3) == sorted(run(3)) and all(len(i) == 26 for i in run(3))
