"""The strategy runner names, on every signal, the tick the signal was computed on."""

from __future__ import annotations

from decimal import Decimal

from actors.instruments import InstrumentBook
from actors.strategies.config import parse_strategies
from actors.strategies.runner import StrategyRunner
from schemas.envelope import new_envelope
from schemas.events import MarketTick, TradingSignal
from schemas.names import tick_subject
from supervisors.actor import Context

HDFCBANK = 341249


async def test_a_signal_carries_its_ticks_market_sequence_and_envelope_id() -> None:
    book = InstrumentBook.default()
    configs = parse_strategies(
        [{"id": "trend", "type": "momentum", "instruments": ["HDFCBANK"],
          "params": {"fast_window": 2, "slow_window": 4}}],
        book,
    )  # fmt: skip
    runner = StrategyRunner("paper", configs, book)
    signals: list[tuple[TradingSignal, int, str]] = []
    # SMA2/SMA4 cross up on the sixth price (tests/e2e/test_bad_input.py)
    for n, price in enumerate(("1000.00", "999.00", "998.00", "997.00", "999.00", "1002.00")):
        tick = MarketTick(instrument_token=HDFCBANK, last_price=Decimal(price), symbol="HDFCBANK")
        env = new_envelope(tick, source="market-feed", key=str(HDFCBANK))
        ctx = Context(runner.name, "paper", env, subject=tick_subject(HDFCBANK), seq=500 + n)
        await runner.on_tick(env, ctx)
        for out in ctx.outputs:
            assert isinstance(out.envelope.data, TradingSignal)
            signals.append((out.envelope.data, 500 + n, env.id))
    [(signal, seq, tick_id)] = signals
    assert (signal.tick_seq, signal.tick_id) == (seq, tick_id) == (505, tick_id)
    assert signal.reference_price == Decimal("1002.00")
