"""The tick a signal names is the one MARKET holds at that sequence, whoever asks and when.

Risk and execution look it up in the ticks they received and, failing that, read it from
the stream by sequence; both paths must give the same tick and the same store time, and a
signal naming a tick that is not its own, not there or too old gets no tick at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from actors.named_tick import NamedTick, NamedTicks, TickRefusal, TickWindow
from ops.bootstrap import bootstrap_streams
from schemas.enums import RejectReason, Side
from schemas.envelope import Envelope, encode, new_envelope
from schemas.events import Depth, DepthLevel, MarketTick, TradingSignal
from schemas.names import tick_subject
from supervisors.acks import parse_ack_subject
from supervisors.bus import Bus, Msg
from supervisors.errors import Crash
from tests.conftest import NatsServer

D = Decimal
RELIANCE, INFY = 738561, 408065
R = RejectReason


def market_tick(token: int = RELIANCE, last: str = "1400.00") -> MarketTick:
    depth = Depth(
        buy=[DepthLevel(price=D(last) - D("0.05"), quantity=184)],
        sell=[DepthLevel(price=D(last) + D("0.05"), quantity=300)],
    )
    return MarketTick(instrument_token=token, last_price=D(last), depth=depth)


def signal_on(seq: int, tick_id: str = "", token: int = RELIANCE) -> TradingSignal:
    return TradingSignal(
        strategy_id="s", instrument_token=token, side=Side.BUY, quantity=1,
        reference_price=D("100.05"), ask=D("100.05"), tick_seq=seq, tick_id=tick_id,
    )  # fmt: skip


@pytest.fixture
async def market(fresh_nats: NatsServer) -> AsyncIterator[Bus]:
    bus = await Bus.connect(fresh_nats.url, name="named-tick-tests")
    await bootstrap_streams(bus, "test")
    yield bus
    await bus.close()


async def publish(bus: Bus, tick: MarketTick) -> tuple[int, Envelope[MarketTick]]:
    env = new_envelope(tick, source="test-feed", key=str(tick.instrument_token))
    return await bus.publish(tick_subject(tick.instrument_token), env), env


async def as_received(bus: Bus, seq: int) -> Msg:
    """The message at `seq` as an actor's ordered consumer on MARKET delivers it."""
    async for msg in bus.replay("MARKET", ["market.>"], seq, seq):
        return msg
    raise AssertionError(f"MARKET has no message at {seq}")


async def test_a_tick_in_the_window_and_the_same_tick_read_from_market_are_equal(
    market: Bus,
) -> None:
    seq, env = await publish(market, market_tick())
    received = NamedTicks(30_000)
    delivered = await as_received(market, seq)
    received.see(delivered)
    signal = signal_on(seq, env.id)
    stored = parse_ack_subject(delivered.reply).ts_ms
    from_window = await received.named_by(signal, stored + 1)
    assert received.reads == 0, "the window answered without a trip to the server"

    cold = NamedTicks(30_000)
    cold.bus = market
    from_stream = await cold.named_by(signal, stored + 1)
    assert cold.reads == 1
    assert isinstance(from_window, NamedTick)
    assert from_stream == from_window
    assert (from_window.seq, from_window.tick_id, from_window.ts) == (seq, env.id, env.ts)
    assert from_window.tick == market_tick(), "depth included"
    assert from_window.stored_ms == stored


async def test_a_signal_naming_a_tick_market_does_not_hold_gets_none(market: Bus) -> None:
    seq, env = await publish(market, market_tick())
    ticks = NamedTicks(30_000)
    ticks.bus = market
    stored = parse_ack_subject((await as_received(market, seq)).reply).ts_ms
    now = stored + 1
    assert await ticks.named_by(signal_on(seq + 1000), now) == TickRefusal(
        reason=R.UNKNOWN_TICK, detail=f"MARKET holds no message at sequence {seq + 1000}"
    )
    assert await ticks.named_by(signal_on(0), now) == TickRefusal(
        reason=R.UNKNOWN_TICK,
        detail="the signal names no tick (tick_seq 0): a signal must carry the MARKET "
        "sequence of the tick it was computed on",
    )
    assert await ticks.named_by(signal_on(seq, "01FORGEDTICKID"), now) == TickRefusal(
        reason=R.UNKNOWN_TICK,
        detail=f"MARKET sequence {seq} holds tick {env.id}, not 01FORGEDTICKID",
    )


async def test_a_tick_of_another_instrument_is_not_the_signals_tick(market: Bus) -> None:
    seq, _ = await publish(market, market_tick(INFY, "1500.00"))
    ticks = NamedTicks(30_000)
    ticks.bus = market
    stored = parse_ack_subject((await as_received(market, seq)).reply).ts_ms
    assert await ticks.named_by(signal_on(seq, token=RELIANCE), stored) == TickRefusal(
        reason=R.UNKNOWN_TICK,
        detail=f"MARKET sequence {seq} is market.ticks.{INFY}, not a tick of instrument {RELIANCE}",
    )


async def test_a_tick_stored_too_long_before_the_signal_or_after_it_prices_nothing(
    market: Bus,
) -> None:
    seq, _ = await publish(market, market_tick())
    ticks = NamedTicks(2_000)
    ticks.bus = market
    stored = parse_ack_subject((await as_received(market, seq)).reply).ts_ms
    at_the_bound = stored + 2_000
    assert isinstance(await ticks.named_by(signal_on(seq), at_the_bound), NamedTick)
    assert await ticks.named_by(signal_on(seq), at_the_bound + 1) == TickRefusal(
        reason=R.STALE_TICK,
        detail=f"tick {seq} is 2001 ms older than the signal (max_signal_tick_age_ms 2000)",
    )
    assert await ticks.named_by(signal_on(seq), stored - 1) == TickRefusal(
        reason=R.UNKNOWN_TICK,
        detail=f"tick {seq} was stored after the signal: it cannot be its tick",
    )


async def test_without_a_connection_a_miss_crashes_rather_than_guesses() -> None:
    with pytest.raises(Crash, match="no connection to read MARKET"):
        await NamedTicks(30_000).named_by(signal_on(5), 10**18)


def body(tick: MarketTick) -> bytes:
    return encode(new_envelope(tick, source="test-feed"))


def test_the_window_keeps_the_last_ticks_of_the_traded_instruments() -> None:
    ticks = NamedTicks(30_000, tokens=frozenset({RELIANCE, INFY}), window=2)
    for seq in (1, 2, 3):
        ticks.remember(tick_subject(RELIANCE), seq, body(market_tick()), 0)
    ticks.remember(tick_subject(INFY), 4, body(market_tick(INFY)), 0)
    ticks.remember(tick_subject(2953217), 5, body(market_tick(2953217)), 0)  # not traded
    ticks.remember("market.status", 6, b"{}", 0)
    window = ticks.window
    assert [window.get(str(RELIANCE), s) is not None for s in (1, 2, 3)] == [False, True, True]
    assert window.get(str(INFY), 4) is not None and window.get(str(RELIANCE), 4) is None
    assert len(window) == 3
    assert TickWindow(1).size == 1
    with pytest.raises(ValueError, match="at least 1 tick"):
        TickWindow(0)


async def test_a_tick_whose_body_names_another_instrument_than_its_subject_is_nobodys() -> None:
    ticks = NamedTicks(30_000)
    ticks.remember(tick_subject(RELIANCE), 9, body(market_tick(INFY)), 1_000)
    assert await ticks.named_by(signal_on(9), 2_000) == TickRefusal(
        reason=R.UNKNOWN_TICK,
        detail=f"MARKET sequence 9 is published for instrument {RELIANCE} but its body names "
        f"{INFY}",
    )
