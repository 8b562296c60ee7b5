"""An execution started after a signal and its tick were stored prices the signal from MARKET.

The validated signal reaches it through the replay of its stream at start, before any tick
reached its window: the tick is read from MARKET by sequence, and the order fills at that
tick's prices, as an execution that had seen the tick live would have filled it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from actors.paper.actor import PaperExecution
from actors.paper.matching import PaperBroker, PaperConfig
from ops.bootstrap import bootstrap_streams
from schemas.enums import OrderFailReason, Side
from schemas.envelope import decode, new_envelope
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
from supervisors.bus import Bus
from supervisors.runner import ActorProcess
from tests.actors.paper.factories import NO_CHARGES
from tests.conftest import NatsServer

D = Decimal
RELIANCE = 738561


@pytest.fixture
async def bus(fresh_nats: NatsServer) -> AsyncIterator[Bus]:
    bus = await Bus.connect(fresh_nats.url, name="cold-start-tests")
    await bootstrap_streams(bus, "test")
    yield bus
    await bus.close()


def validated(signal_id: str, tick_seq: int, tick_id: str) -> ValidatedSignal:
    signal = TradingSignal(
        strategy_id="s", instrument_token=RELIANCE, side=Side.BUY, quantity=700,
        reference_price=D("100.00"), ask=D("100.05"), tick_seq=tick_seq, tick_id=tick_id,
    )  # fmt: skip
    return ValidatedSignal(signal_id=signal_id, client_order_id=signal_id, signal=signal)


async def test_a_signal_replayed_at_start_is_priced_from_the_tick_read_from_market(
    bus: Bus,
) -> None:
    depth = Depth(
        buy=[DepthLevel(price=D("1399.95"), quantity=500)],
        sell=[DepthLevel(price=D("1400.05"), quantity=500), DepthLevel(price=D("1400.10"), quantity=900)],
    )  # fmt: skip
    tick = new_envelope(MarketTick(instrument_token=RELIANCE, last_price=D("1400.00"),
                                   depth=depth), source="market-feed")  # fmt: skip
    seq = await bus.publish(tick_subject(RELIANCE), tick)
    await bus.publish("paper.signals.validated", new_envelope(validated("good", seq, tick.id), source="risk-paper", broker="paper"))  # fmt: skip
    await bus.publish("paper.signals.validated", new_envelope(validated("bogus", seq + 99, ""), source="risk-paper", broker="paper"))  # fmt: skip

    config = PaperConfig(partial_fills=True)
    actor = PaperExecution("paper", PaperBroker(config, NO_CHARGES), tokens=[RELIANCE])
    process = ActorProcess(actor, bus)
    ready = asyncio.Event()
    task = asyncio.create_task(process.run(ready.set))
    try:
        async with asyncio.timeout(10):
            await ready.wait()
    finally:
        process.request_stop()
        async with asyncio.timeout(10):
            await task
    outcome = [decode(m.data).data async for m in bus.replay("PAPER", ["paper.orders.>"], 1)]
    fills = [e for e in outcome if isinstance(e, OrderFilled)]
    # BUY 700 walks the asks of the tick: 500 at 1400.05, the other 200 at 1400.10
    assert [(f.client_order_id, f.quantity, f.price) for f in fills] == [
        ("good", 500, D("1400.05")),
        ("good", 200, D("1400.10")),
    ]
    [failed] = [e for e in outcome if isinstance(e, OrderFailed)]
    assert (failed.client_order_id, failed.reason) == ("bogus", OrderFailReason.UNKNOWN_TICK)
    assert actor.ticks.reads == 1, "the good signal's tick came from MARKET, the window was empty"
