"""Paper-versus-live drift: pairs of fills of one signal, signed as a cost, counted once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from actors.drift.actor import DriftMonitor
from actors.drift.book import DriftBook
from ops.bootstrap import bootstrap_streams
from schemas.enums import Side
from schemas.envelope import new_envelope
from schemas.events import OrderFilled
from schemas.names import ORDERS_FILLED, Broker, broker_subject
from supervisors.bus import Bus
from supervisors.runner import ActorProcess
from tests.conftest import NatsServer

D = Decimal


def fill(
    broker: str, price: str, *, side: Side = Side.BUY, tick_ts: int = 1_000, final: bool = True,
    strategy: str = "momentum", token: int = 408065, qty: int = 10, avg: str | None = None,
) -> OrderFilled:  # fmt: skip
    return OrderFilled(
        client_order_id=f"{broker}-{tick_ts}-{side}", broker_order_id="b1",
        fill_id=f"{broker}-{tick_ts}-{price}", strategy_id=strategy, instrument_token=token,
        side=side, quantity=qty, price=D(price), cumulative_quantity=qty, order_quantity=qty,
        average_price=D(avg or price), final=final, symbol="INFY", tick_ts=tick_ts,
    )  # fmt: skip


def test_a_buy_filled_dearer_live_drifts_positive_by_the_difference() -> None:
    book = DriftBook()
    assert book.on_fill("paper", fill("paper", "1500.00")) is None
    fig = book.on_fill("zerodha", fill("zerodha", "1500.35"))
    assert fig is not None and fig.pairs == 1
    # 1500.35 - 1500.00 = 0.35 a share; 0.35 / 1500 * 10,000 = 2.3333 bps
    assert fig.mean == D("0.35") and fig.mean_bps == D("2.33")
    assert fig.last == D("0.35") and fig.worst == D("0.35")


def test_a_sell_filled_cheaper_live_is_a_cost_too_and_the_order_of_arrival_does_not_matter() -> (
    None
):
    book = DriftBook()
    book.on_fill("zerodha", fill("zerodha", "1499.80", side=Side.SELL))
    fig = book.on_fill("paper", fill("paper", "1500.00", side=Side.SELL))
    # paper received 1500.00, live 1499.80: live got 0.20 less, a cost of +0.20
    assert fig is not None and fig.mean == D("0.20")


def test_figures_average_over_pairs_and_keep_the_worst() -> None:
    book = DriftBook()
    for ts, paper, live in (
        (1, "100.00", "100.10"),
        (2, "100.00", "99.95"),
        (3, "200.00", "200.30"),
    ):
        book.on_fill("paper", fill("paper", paper, tick_ts=ts))
        book.on_fill("zerodha", fill("zerodha", live, tick_ts=ts))
    fig = book.figures[("momentum", 408065)]
    # drifts 0.10, -0.05, 0.30: mean 0.35 / 3 = 0.1166.. -> 0.12; worst 0.30; last 0.30
    assert fig.pairs == 3 and fig.mean == D("0.12")
    assert fig.worst == D("0.30") and fig.last == D("0.30")
    # bps: 0.10/100 = 10, -0.05/100 = -5, 0.30/200 = 15 -> mean 20/3 = 6.67
    assert fig.mean_bps == D("6.67")
    status = book.to_status()
    assert status["pairs"] == 3 and status["waiting"] == 0


def test_only_final_fills_count_and_use_the_orders_average_price() -> None:
    book = DriftBook()
    book.on_fill("paper", fill("paper", "100.00"))
    assert book.on_fill("zerodha", fill("zerodha", "100.40", final=False)) is None
    fig = book.on_fill("zerodha", fill("zerodha", "100.00", avg="100.20"))
    assert fig is not None and fig.mean == D("0.20")


def test_a_redelivered_fill_does_not_count_twice() -> None:
    book = DriftBook()
    book.on_fill("paper", fill("paper", "100.00"))
    book.on_fill("zerodha", fill("zerodha", "100.05"))
    assert book.on_fill("zerodha", fill("zerodha", "100.05")) is None
    assert book.on_fill("paper", fill("paper", "100.00")) is None
    assert book.figures[("momentum", 408065)].pairs == 1 and book.pending == 0


def test_different_signals_strategies_and_instruments_do_not_pair() -> None:
    book = DriftBook()
    book.on_fill("paper", fill("paper", "100.00", tick_ts=1))
    book.on_fill("zerodha", fill("zerodha", "100.05", tick_ts=2))
    book.on_fill("zerodha", fill("zerodha", "100.05", tick_ts=1, strategy="rsi"))
    book.on_fill("zerodha", fill("zerodha", "100.05", tick_ts=1, token=1))
    book.on_fill("zerodha", fill("zerodha", "100.05", tick_ts=1, side=Side.SELL))
    assert not book.figures and book.pending == 5


def test_waiting_legs_are_bounded_and_the_dropped_ones_counted() -> None:
    book = DriftBook(pending_cap=3)
    for ts in range(5):
        book.on_fill("paper", fill("paper", "100.00", tick_ts=ts))
    assert book.pending == 3 and book.unmatched_dropped == 2


@pytest.fixture
async def drift_bus(fresh_nats: NatsServer) -> AsyncIterator[Bus]:
    bus = await Bus.connect(fresh_nats.url, name="test:drift")
    await bootstrap_streams(bus, "test")
    yield bus
    await bus.close()


async def _publish(bus: Bus, broker: Broker, event: OrderFilled) -> None:
    env = new_envelope(event, source=f"execution-{broker}", broker=broker, key="408065")
    await bus.publish(broker_subject(broker, ORDERS_FILLED), env, msg_id=event.fill_id)


async def test_the_monitor_pairs_fills_from_both_streams_and_recomputes_after_a_restart(
    drift_bus: Bus,
) -> None:
    await _publish(drift_bus, "paper", fill("paper", "1500.00", tick_ts=7))
    await _publish(drift_bus, "zerodha", fill("zerodha", "1500.50", tick_ts=7))
    for attempt in range(2):  # the second run reads both streams from the start again
        monitor = DriftMonitor()
        process = ActorProcess(monitor, drift_bus)
        ready = asyncio.Event()
        task = asyncio.create_task(process.run(ready.set))
        try:
            async with asyncio.timeout(20):
                await ready.wait()
                while monitor.book.to_status()["pairs"] != 1:
                    await asyncio.sleep(0.05)
        finally:
            process.request_stop()
            await task
        drift = monitor.stats()["drift"]
        fig = drift["strategies"]["momentum"]["408065"]
        assert fig["mean"] == "0.50" and fig["pairs"] == 1, attempt
        # 0.50 / 1500 * 10,000 = 3.333.. bps
        assert fig["mean_bps"] == "3.33"


def test_status_shows_the_drift_per_strategy_and_instrument() -> None:
    from ops.commands.status import render_drift

    book = DriftBook()
    book.on_fill("paper", fill("paper", "100.00"))
    book.on_fill("zerodha", fill("zerodha", "100.10"))
    lines = render_drift(book.to_status())
    assert "zerodha vs paper" in lines[0] and "pairs 1" in lines[0]
    assert (
        lines[1].strip() == "momentum INFY: pairs 1  mean 0.10 (10.00 bps)  last 0.10  worst 0.10"
    )


def test_strategies_trading_only_paper_are_not_kept_waiting_for_a_pair() -> None:
    book = DriftBook(strategies=frozenset({"momentum"}))
    book.on_fill("paper", fill("paper", "100.00", strategy="rsi"))
    assert book.pending == 0
    book.on_fill("paper", fill("paper", "100.00"))
    fig = book.on_fill("zerodha", fill("zerodha", "100.1"))
    # 100.1 - 100.00 = 0.1: shown to the paisa
    assert fig is not None and fig.to_status()["last"] == "0.10"
