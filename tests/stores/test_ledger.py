"""The ledger keeps every order event and fill once, exactly (each test runs over the
PostgreSQL ledger and the file ledger)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from actors.stores.file_ledger import FileLedger
from actors.stores.ledger import (
    FillRow,
    Ledger,
    OrderRow,
    PostgresLedger,
    fill_row,
    open_ledger,
    order_row,
)
from schemas.enums import OrderFailReason, OrderStatus
from schemas.envelope import new_envelope
from schemas.events import Heartbeat, OrderAccepted, OrderCancelled, OrderFailed
from tests.stores.conftest import make_fill, make_submitted, uid


async def test_a_fill_round_trips_with_exact_decimals(ledger: Ledger) -> None:
    order = uid("c")
    fill = make_fill(order, uid("f"), price=Decimal("2450.05"))

    assert await ledger.record_fill("paper", fill, "01HEVENT", 1_700_000_000_123_456_789)

    [row] = await ledger.fills("paper", order)
    assert row.price == Decimal("2450.05") and str(row.price) == "2450.05"
    assert row.charges == fill.charges
    assert str(row.charges.exchange_txn) == "0.7974"
    assert row.ts == 1_700_000_000_123_456_789 and row.event_id == "01HEVENT"
    assert (row.side, row.quantity, row.symbol) == ("BUY", 10, "RELIANCE")


async def test_a_redelivered_fill_is_a_no_op(ledger: Ledger) -> None:
    order, fill_id = uid("c"), uid("f")
    envelope = new_envelope(make_fill(order, fill_id), source="paper-broker", broker="paper")
    before = await ledger.count_fills("paper")

    assert await ledger.record_fill("paper", envelope)
    assert not await ledger.record_fill("paper", envelope)
    # The same fill re-emitted under a new envelope id is a duplicate too.
    assert not await ledger.record_fill("paper", make_fill(order, fill_id), "01HOTHER", 1)

    assert await ledger.count_fills("paper") == before + 1


async def test_the_same_fill_id_on_another_broker_is_another_fill(ledger: Ledger) -> None:
    order, fill_id = uid("c"), uid("f")

    assert await ledger.record_fill("paper", make_fill(order, fill_id), "e1", 1)
    assert await ledger.record_fill("zerodha", make_fill(order, fill_id), "e1", 1)

    assert len(await ledger.fills("zerodha", order)) == 1


async def test_a_batch_skips_duplicates_within_it_and_already_recorded(ledger: Ledger) -> None:
    order = uid("c")
    fills = [make_fill(order, uid("f"), quantity=q, final=False) for q in (1, 2, 3)]
    assert await ledger.record_fill("paper", fills[0], "e0", 10)

    batch = [(fills[0], "e0", 10), (fills[1], "e1", 11), (fills[2], "e2", 12), (fills[2], "e2", 12)]
    assert await ledger.record_fills_many("paper", batch) == 2
    assert await ledger.record_fills_many("paper", []) == 0

    assert [r.quantity for r in await ledger.fills("paper", order)] == [1, 2, 3]


async def test_an_order_lifecycle_is_recorded_once_per_event(ledger: Ledger) -> None:
    order = uid("c")
    submitted = new_envelope(
        make_submitted(order, limit_price=Decimal("2450.05")), source="execution", broker="paper"
    )
    assert await ledger.record_order("paper", submitted)
    assert not await ledger.record_order("paper", submitted)  # redelivered
    # Re-emitted under a new envelope id (after the JetStream duplicate window): still once.
    assert not await ledger.record_order("paper", make_submitted(order), "01HNEWID", 2)
    accepted = OrderAccepted(client_order_id=order, broker_order_id="B1", instrument_token=738561)
    assert await ledger.record_order("paper", accepted, "e-acc", 3)
    for n, fill_id in enumerate(("f1", "f2")):
        fill = make_fill(order, f"{order}-{fill_id}", final=n == 1)
        assert await ledger.record_order("paper", fill, f"e-{fill_id}", 4 + n)
        assert not await ledger.record_order("paper", fill, f"e-{fill_id}", 4 + n)

    rows = await ledger.orders("paper", order)

    assert [r.status for r in rows] == [
        OrderStatus.SUBMITTED,
        OrderStatus.ACCEPTED,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
    ]
    assert rows[0].limit_price == Decimal("2450.05") and str(rows[0].limit_price) == "2450.05"
    assert rows[0].event_id == submitted.id and rows[0].ts == submitted.ts
    assert rows[1].broker_order_id == "B1"


async def test_failed_and_cancelled_orders_keep_their_reason(ledger: Ledger) -> None:
    failed, cancelled = uid("c"), uid("c")
    rejected = OrderFailed(
        client_order_id=failed, reason=OrderFailReason.MARGIN, detail="short by 12.50"
    )
    await ledger.record_order("paper", rejected, "e1", 1)
    cancel = OrderCancelled(client_order_id=cancelled, filled_quantity=3, reason="user")
    await ledger.record_order("paper", cancel, "e2", 2)

    [f] = await ledger.orders("paper", failed)
    [c] = await ledger.orders("paper", cancelled)

    assert (f.status, f.reason) == (OrderStatus.REJECTED, "MARGIN: short by 12.50")
    assert (c.status, c.filled_quantity, c.reason) == (OrderStatus.CANCELLED, 3, "user")


async def test_a_bare_event_needs_its_id_and_time(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="event_id and ts"):
        await ledger.record_fill("paper", make_fill(uid("c"), uid("f")))
    with pytest.raises(TypeError, match="not an order event"):
        await ledger.record_order("paper", Heartbeat(seq=1), "e", 1)  # type: ignore[arg-type]


async def test_an_unknown_broker_is_refused(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="unknown broker"):
        await ledger.record_fill("nse", make_fill(uid("c"), uid("f")), "e", 1)


async def test_close_is_safe_twice(ledger: Ledger) -> None:
    await ledger.close()
    await ledger.close()


async def test_the_fallback_is_the_file_ledger_without_a_database_url(
    database_url: str, tmp_path: Path
) -> None:
    embedded = await open_ledger(None, tmp_path)
    shared = await open_ledger(database_url)

    assert isinstance(embedded, FileLedger) and embedded.path == tmp_path / "ledger"
    assert isinstance(shared, PostgresLedger)
    await embedded.close()
    await shared.close()


async def test_a_batch_of_order_events_and_fills_is_one_durable_step(ledger: Ledger) -> None:
    order = uid("c")
    fills = [make_fill(order, uid("f"), quantity=q, final=q == 3) for q in (1, 2, 3)]
    rows: list[OrderRow | FillRow] = [order_row("paper", make_submitted(order), "e0", 1)]
    rows += [fill_row("paper", f, f"e{n}", 2 + n) for n, f in enumerate(fills)]
    rows += [order_row("paper", f, f"o{n}", 2 + n) for n, f in enumerate(fills)]
    before = ledger.commits

    assert await ledger.record_rows(rows) == 7
    assert ledger.commits == before + 1

    assert [r.quantity for r in await ledger.fills("paper", order)] == [1, 2, 3]
    assert [r.status for r in await ledger.orders("paper", order)] == [
        OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
    ]  # fmt: skip


async def test_a_redelivered_batch_records_only_what_it_lacked(ledger: Ledger) -> None:
    order = uid("c")
    rows = [fill_row("paper", make_fill(order, uid("f"), quantity=q), "e", q) for q in (1, 2, 3)]
    assert await ledger.record_rows(rows[:2]) == 2  # stored, then the process died unacked

    # the redelivered batch, with a duplicate inside it and a row of another broker
    again = [*rows, rows[2], fill_row("zerodha", make_fill(order, rows[0].fill_id), "e", 1)]
    assert await ledger.record_rows(again) == 2
    assert await ledger.record_rows([]) == 0

    assert [r.quantity for r in await ledger.fills("paper", order)] == [1, 2, 3]
    assert len(await ledger.fills("zerodha", order)) == 1
