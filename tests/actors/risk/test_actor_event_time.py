"""The risk actor judges rate and trading day on the market's time, not the publish time.

Both are the times of the tick a signal names, as risk read it from MARKET (here: the tick
the signal's own `event_ts` / `tick_ts` describe)."""

from __future__ import annotations

from decimal import Decimal

from actors.named_tick import NamedTick
from actors.risk.actor import RiskManager, trading_day
from actors.risk.limits import RiskLimits
from schemas.enums import RejectReason, Side
from schemas.events import MarketTick, RejectedSignal, TradingSignal, ValidatedSignal
from supervisors.actor import Context

SECOND = 1_000_000_000
MARKET_OPEN = 1_732_506_300 * SECOND  # 2024-11-25 09:15 IST
STRATEGIES = {"s": frozenset({408065})}


def signal(event_ts: int, tick_ts: int) -> TradingSignal:
    return TradingSignal(
        strategy_id="s", instrument_token=408065, side=Side.BUY, quantity=1,
        reference_price=Decimal("1500.00"), tick_ts=tick_ts, event_ts=event_ts,
    )  # fmt: skip


def tick_of(sig: TradingSignal, n: int) -> NamedTick:
    """The tick `sig` was computed on: exchange time `event_ts` (if any), published at `tick_ts`."""
    tick = MarketTick(
        instrument_token=sig.instrument_token, last_price=sig.reference_price,
        exchange_timestamp_ns=sig.event_ts or None,
    )  # fmt: skip
    return NamedTick(seq=n + 1, tick_id=f"tick-{n}", ts=sig.tick_ts, stored_ms=0, tick=tick)


def decide(risk: RiskManager, sig: TradingSignal, n: int) -> object:
    ctx = Context(risk.name, "paper")
    risk._on_signal(f"sig-{n}", sig, sig.tick_ts, ctx, tick_of(sig, n))
    return ctx.outputs[0].envelope.data


def test_two_signals_a_millisecond_apart_in_market_time_share_one_token_bucket() -> None:
    risk = RiskManager(
        "paper", RiskLimits(rate_limit_per_s=Decimal(1), burst=1), strategies=STRATEGIES
    )
    # published a minute apart (a slow replay), but 1 ms apart on the exchange clock
    first = decide(risk, signal(MARKET_OPEN, tick_ts=MARKET_OPEN), 1)
    second = decide(risk, signal(MARKET_OPEN + 1_000_000, tick_ts=MARKET_OPEN + 60 * SECOND), 2)
    assert isinstance(first, ValidatedSignal)
    assert isinstance(second, RejectedSignal)
    assert second.reason is RejectReason.RATE_LIMIT


def test_without_an_exchange_time_the_publish_time_is_used() -> None:
    risk = RiskManager(
        "paper", RiskLimits(rate_limit_per_s=Decimal(1), burst=1), strategies=STRATEGIES
    )
    decide(risk, signal(0, tick_ts=MARKET_OPEN), 1)
    later = decide(risk, signal(0, tick_ts=MARKET_OPEN + 2 * SECOND), 2)
    assert isinstance(later, ValidatedSignal)


def test_the_trading_day_is_the_ist_date() -> None:
    assert trading_day(MARKET_OPEN) == "2024-11-25"
    assert trading_day(MARKET_OPEN - 10 * 3600 * SECOND) == "2024-11-24"  # 23:15 IST the day before


def test_the_snapshot_keeps_open_orders_but_not_the_days_id_history() -> None:
    risk = RiskManager(
        "paper", RiskLimits(rate_limit_per_s=Decimal(1000), burst=1000), strategies=STRATEGIES
    )
    for n in range(15):  # under the default max_open_orders (20)
        decide(risk, signal(MARKET_OPEN + n * SECOND, tick_ts=MARKET_OPEN + n * SECOND), n)
    state = risk.dump_state()
    assert len(state.engine.pending) == 15
    assert sorted(state.engine.accepted_ids) == sorted(state.engine.pending)
    assert state.engine.fill_ids == set()
    successor = RiskManager("paper", RiskLimits(), strategies=STRATEGIES)
    successor.load_state(state)
    assert successor.engine.open_orders == 15
