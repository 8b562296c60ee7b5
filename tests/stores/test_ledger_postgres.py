"""What only the PostgreSQL ledger enforces: history cannot change, money is never float."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg  # type: ignore[import-untyped, unused-ignore]
import msgspec
import pytest

from actors.stores.ledger import PostgresLedger, fill_row, order_row
from tests.stores.conftest import make_fill, make_submitted, uid


@pytest.fixture
async def pg(database_url: str) -> AsyncIterator[PostgresLedger]:
    ledger = await PostgresLedger.connect(database_url)
    yield ledger
    await ledger.close()


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE fills SET quantity = quantity + 1 WHERE fill_id = $1",
        "DELETE FROM fills WHERE fill_id = $1",
        "UPDATE orders SET status = 'FILLED' WHERE client_order_id = $1",
        "DELETE FROM orders WHERE client_order_id = $1",
    ],
)
async def test_recorded_history_cannot_be_changed(
    pg: PostgresLedger, conn: asyncpg.Connection, statement: str
) -> None:
    order = uid("c")
    await pg.record_fill("paper", make_fill(order, order), "e1", 1)
    await pg.record_order("paper", make_submitted(order), "e2", 2)

    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await conn.execute(statement, order)

    assert len(await pg.fills("paper", order)) == 1
    assert len(await pg.orders("paper", order)) == 1


async def test_a_statement_that_matches_nothing_is_refused_too(conn: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.RaiseError, match="append-only: DELETE refused"):
        await conn.execute("DELETE FROM fills WHERE false")
    with pytest.raises(asyncpg.RaiseError, match="append-only: TRUNCATE refused"):
        await conn.execute("TRUNCATE orders")


@pytest.mark.parametrize("price", ["2450.00005", "NaN", "1E+15"])
async def test_a_price_that_would_be_rounded_is_refused_not_rounded(
    pg: PostgresLedger, price: str
) -> None:
    order = uid("c")
    with pytest.raises(asyncpg.CheckViolationError):
        await pg.record_fill("paper", make_fill(order, order, price=Decimal(price)), "e", 1)

    assert await pg.fills("paper", order) == []


async def test_no_ledger_column_is_a_binary_float(conn: asyncpg.Connection) -> None:
    types = await conn.fetch(
        "SELECT table_name, column_name, data_type, domain_name FROM information_schema.columns "
        "WHERE table_name IN ('orders', 'fills')"
    )

    assert not [t for t in types if t["data_type"] in ("real", "double precision")]
    money = {t["column_name"] for t in types if t["data_type"] == "numeric"}
    assert {"price", "limit_price", "stt", "gst", "brokerage", "stamp_duty"} <= money


async def test_a_batch_that_fails_part_way_leaves_nothing_behind(pg: PostgresLedger) -> None:
    order = uid("c")
    good = fill_row("paper", make_fill(order, uid("f")), "e1", 1)
    submitted = order_row("paper", make_submitted(order), "e0", 0)
    bad = msgspec.structs.replace(good, fill_id=uid("f"), price=Decimal("0.00001"))  # 5 dp

    with pytest.raises(asyncpg.exceptions.CheckViolationError):
        await pg.record_rows([submitted, good, bad])

    assert await pg.orders("paper", order) == [] and await pg.fills("paper", order) == []
    assert await pg.record_rows([submitted, good]) == 2  # the redelivery records it whole
