"""Reconciliation end to end: orders placed with the official client at the Kite simulator,
its reports fetched with `fetch_reports`, then reconciled with a ledger built by hand."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from kiteconnect import KiteConnect

from actors.kite.reconcile import LedgerOrder, OurLedger, reconcile
from actors.kite.reports import fetch_reports
from ops.sim.kite.server import KiteSim, SimConfig
from schemas.enums import OrderStatus, Side

INFY, TCS = 408065, 2953217


class Sim:
    """A KiteSim serving on its own loop in a thread, on free loopback ports."""

    def __init__(self) -> None:
        self.sim = KiteSim(SimConfig(tick_interval_s=0.01))
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._run, name="kitesim", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
            await self.sim.serve(lambda _: self._ready.set())

        with contextlib.suppress(asyncio.CancelledError):
            asyncio.run(main())

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(30), "the simulator did not start"

    def stop(self) -> None:
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(30)

    def client(self) -> KiteConnect:
        kite = KiteConnect(self.sim.session.api_key, root=self.sim.root, timeout=7)
        kite.set_access_token(self.sim.session.first_token)
        return kite

    def faults(self, **faults: object) -> None:
        r = httpx.post(f"{self.sim.root}/_sim/faults", json=faults, timeout=5)
        assert r.status_code == 200, r.text


@pytest.fixture
def sim() -> Iterator[Sim]:
    running = Sim()
    running.start()
    try:
        yield running
    finally:
        running.stop()


def buy(kite: KiteConnect, symbol: str, quantity: int, tag: str | None) -> str:
    order_id: str = kite.place_order(
        variety="regular",
        exchange="NSE",
        tradingsymbol=symbol,
        transaction_type="BUY",
        quantity=quantity,
        product="MIS",
        order_type="MARKET",
        market_protection=KiteConnect.MARKET_PROTECTION_AUTO,
        tag=tag,
    )
    return order_id


def recorded(tag: str, order_id: str | None, token: int, quantity: int, filled: int) -> LedgerOrder:
    return LedgerOrder(f"cid-{tag}", tag, order_id, token, Side.BUY, quantity, filled, not filled)


def fetch(kite: KiteConnect) -> Any:
    return fetch_reports(kite, now_ns=1, backoff_s=0.05)


def test_orders_we_placed_and_recorded_reconcile_clean(sim: Sim) -> None:
    kite = sim.client()
    a = buy(kite, "INFY", 3, "apREC01")
    b = buy(kite, "TCS", 2, "apREC02")
    ledger = OurLedger(
        orders={
            "apREC01": recorded("apREC01", a, INFY, 3, 3),
            "apREC02": recorded("apREC02", b, TCS, 2, 2),
        },
        positions={INFY: 3, TCS: 2},
    )
    result = reconcile(fetch(kite), ledger)
    assert result.ok, result.halt_reason
    assert result.matched == 2
    assert not (result.adopted or result.placed_unseen or result.unknown)


def test_a_fill_we_missed_while_down_is_adopted_with_kites_trade(sim: Sim) -> None:
    kite = sim.client()
    order_id = buy(kite, "INFY", 4, "apREC03")
    # the ledger holds the submission only: the crash lost the ack and the fill
    ledger = OurLedger(
        orders={"apREC03": recorded("apREC03", None, INFY, 4, 0)}, positions={}, tag_prefix="ap"
    )
    reports = fetch(kite)
    result = reconcile(reports, ledger)
    assert result.ok, result.halt_reason
    (adopted,) = result.adopted
    assert (adopted.broker_order_id, adopted.order_status) == (order_id, OrderStatus.FILLED)
    (fill,) = adopted.new_trades
    assert fill.quantity == 4
    assert reports.trades is not None
    assert str(fill.price) == f"{reports.trades[0]['average_price']:.2f}"
    assert adopted.average_price == fill.price


def test_an_order_placed_before_a_crash_is_adopted_through_the_tag_map(sim: Sim) -> None:
    kite = sim.client()
    order_id = buy(kite, "INFY", 1, "apREC04")
    empty = OurLedger(orders={}, positions={})
    reports = fetch(kite)
    adopted = reconcile(reports, empty, tag_map={"apREC04": "01JCLIENTID"})
    assert adopted.ok, adopted.halt_reason
    assert [(u.client_order_id, u.broker_order_id) for u in adopted.placed_unseen] == [
        ("01JCLIENTID", order_id)
    ]
    # without the map it cannot be ours to count: its fill is a position we cannot explain
    flagged = reconcile(reports, empty)
    assert not flagged.ok
    assert flagged.placed_unseen[0].client_order_id is None
    assert flagged.halt_reason is not None
    assert "position mismatch INFY ours 0 Kite 1" in flagged.halt_reason


def test_a_foreign_order_is_flagged_and_halts_only_in_an_instrument_we_trade(sim: Sim) -> None:
    kite = sim.client()
    ours = buy(kite, "INFY", 2, "apREC05")
    foreign = buy(kite, "TCS", 1, None)  # placed by hand in Kite's own app
    ledger = OurLedger(
        orders={"apREC05": recorded("apREC05", ours, INFY, 2, 2)}, positions={INFY: 2}
    )
    result = reconcile(fetch(kite), ledger)
    assert result.ok, result.halt_reason
    assert [(f.broker_order_id, f.reason) for f in result.unknown] == [(foreign, "untagged")]
    assert [(p.tradingsymbol, p.quantity) for p in result.foreign_positions] == [("TCS", 1)]

    buy(kite, "INFY", 5, "manual")  # a foreign order in an instrument we trade
    halted = reconcile(fetch(kite), ledger)
    assert not halted.ok
    assert halted.halt_reason is not None
    assert "position mismatch INFY ours 2 Kite 7" in halted.halt_reason


def test_a_transient_server_error_is_retried_and_the_report_fetched(sim: Sim) -> None:
    kite = sim.client()
    sim.faults(http_5xx=1)
    reports = fetch(kite)
    assert reports.missing == []
    assert reconcile(reports, OurLedger(orders={}, positions={})).ok


@pytest.mark.parametrize("fault", ["http_5xx", "http_429"])
def test_a_report_that_keeps_failing_is_missing_and_halts(sim: Sim, fault: str) -> None:
    kite = sim.client()
    buy(kite, "INFY", 1, "apREC06")
    sim.faults(**{fault: 3})  # every try of the first report (the order book)
    reports = fetch(kite)
    assert reports.orders is None
    assert reports.trades is not None
    assert reports.positions is not None
    result = reconcile(reports, OurLedger(orders={}, positions={}))
    assert not result.ok
    assert result.missing_reports == ["orders"]
    assert not (result.adopted or result.placed_unseen)


def test_an_expired_session_leaves_every_report_missing_without_logging_the_token(
    sim: Sim, caplog: pytest.LogCaptureFixture
) -> None:
    kite = sim.client()
    sim.faults(expire_token=True)
    with caplog.at_level(logging.WARNING, logger="actors.kite.reports"):
        reports = fetch(kite)
    assert reports.missing == ["orders", "trades", "positions", "holdings"]
    assert "TokenException 403" in caplog.text
    assert sim.sim.session.first_token not in caplog.text
    assert "retrying" not in caplog.text  # another try cannot fix a dead session
    result = reconcile(reports, OurLedger(orders={}, positions={INFY: 0}))
    assert not result.ok
    assert result.halt_reason is not None
    assert "alpha-panda zerodha login" in result.halt_reason
