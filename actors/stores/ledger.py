"""The order/fill ledger: the `Ledger` interface and its PostgreSQL implementation.

Append-only (a trigger refuses UPDATE, DELETE and TRUNCATE), deduplicated on the natural
keys of `ledger_rows` with `ON CONFLICT DO NOTHING`, Decimal in Python and NUMERIC in SQL.
`FileLedger` (re-exported here) is the embedded fallback; `open_ledger` picks one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, Protocol, TypeVar

import msgspec

from actors.stores.file_ledger import FileLedger
from actors.stores.ledger_rows import (
    FillRow,
    OrderEvent,
    OrderRow,
    fill_row,
    order_row,
)
from actors.stores.migrations import open_migrated_pool
from schemas.envelope import Envelope
from schemas.events import Charges, OrderFilled
from schemas.names import parse_broker

__all__ = [
    "Ledger",
    "PostgresLedger",
    "FileLedger",
    "open_ledger",
    "OrderEvent",
    "OrderRow",
    "FillRow",
    "order_row",
    "fill_row",
]


class Ledger(Protocol):
    """Append-only record of order events and fills, per broker.

    `record_*` return False (or count fewer rows) when the row's key is already recorded:
    a redelivery is a no-op, never an error. They return only once the row is durable.
    `record_rows` is the group commit: a batch of rows (each under its own broker) in one
    durable step, so an actor that handled a batch of inputs pays one step for all of them.
    `commits` counts the durable steps taken (transactions, or fsync groups on disk).
    """

    commits: int

    async def record_order(
        self,
        broker: str,
        event: OrderEvent | Envelope[Any],
        event_id: str | None = None,
        ts: int | None = None,
    ) -> bool: ...

    async def record_fill(
        self,
        broker: str,
        fill: OrderFilled | Envelope[Any],
        event_id: str | None = None,
        ts: int | None = None,
    ) -> bool: ...

    async def record_fills_many(
        self, broker: str, fills: Iterable[tuple[OrderFilled, str, int]]
    ) -> int: ...

    async def record_rows(self, rows: Sequence[OrderRow | FillRow]) -> int: ...

    async def fills(self, broker: str, client_order_id: str | None = None) -> list[FillRow]: ...

    async def orders(self, broker: str, client_order_id: str | None = None) -> list[OrderRow]: ...

    async def count_fills(self, broker: str) -> int: ...

    async def close(self) -> None: ...


R = TypeVar("R", OrderRow, FillRow)

_CHARGES: Final = Charges.__struct_fields__
_ORDER_COLS: Final = OrderRow.__struct_fields__
_FILL_COLS: Final = tuple(f for f in FillRow.__struct_fields__ if f != "charges") + _CHARGES
_SQL_TYPE: Final = dict.fromkeys(("price", "limit_price", *_CHARGES), "numeric") | {
    "instrument_token": "bigint",
    "quantity": "integer",
    "filled_quantity": "integer",
    "ts": "bigint",
}
_INSERT_ORDER: Final = (
    f"INSERT INTO orders ({', '.join(_ORDER_COLS)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(_ORDER_COLS) + 1))}) "
    "ON CONFLICT (broker, client_order_id, event_type, event_key) DO NOTHING RETURNING seq"
)


def _unnest(cols: Sequence[str]) -> str:
    return ", ".join(f"${i}::{_SQL_TYPE.get(c, 'text')}[]" for i, c in enumerate(cols, 1))


# A batch is one statement per table: one array per column, unnested into rows. Duplicates
# inside the batch and against the table are both skipped; RETURNING counts what was new.
_INSERT_ORDERS: Final = (
    f"INSERT INTO orders ({', '.join(_ORDER_COLS)}) SELECT * FROM unnest({_unnest(_ORDER_COLS)})"
    " ON CONFLICT (broker, client_order_id, event_type, event_key) DO NOTHING RETURNING seq"
)
_INSERT_FILLS: Final = (
    f"INSERT INTO fills ({', '.join(_FILL_COLS)}) SELECT * FROM unnest({_unnest(_FILL_COLS)})"
    " ON CONFLICT (broker, fill_id) DO NOTHING RETURNING seq"
)
_SELECT_WHERE: Final = (
    "WHERE broker = $1 AND ($2::text IS NULL OR client_order_id = $2) ORDER BY seq"
)


def _order_values(row: OrderRow) -> list[Any]:
    return [getattr(row, c) for c in _ORDER_COLS]


def _columns(rows: Sequence[R], values: Callable[[R], list[Any]]) -> list[list[Any]]:
    """Rows as one list per column, the arrays `unnest` turns back into rows."""
    return [list(c) for c in zip(*(values(r) for r in rows), strict=True)]


def _fill_values(row: FillRow) -> list[Any]:
    plain = [getattr(row, c) for c in _FILL_COLS[: -len(_CHARGES)]]
    return plain + [getattr(row.charges, c) for c in _CHARGES]


def _fill_of(record: Any) -> FillRow:
    values = dict(record)
    charges = Charges(**{c: values.pop(c) for c in _CHARGES})
    return FillRow(**values, charges=charges)


class PostgresLedger:
    """The ledger in PostgreSQL; `connect()` opens a pool and applies the migrations."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._closed = False
        self.commits = 0

    @classmethod
    async def connect(cls, dsn: str, *, min_size: int = 1, max_size: int = 4) -> PostgresLedger:
        return cls(await open_migrated_pool(dsn, min_size=min_size, max_size=max_size))

    async def record_order(
        self,
        broker: str,
        event: OrderEvent | Envelope[Any],
        event_id: str | None = None,
        ts: int | None = None,
    ) -> bool:
        row = order_row(broker, event, event_id, ts)
        seq = await self._pool.fetchval(_INSERT_ORDER, *(getattr(row, c) for c in _ORDER_COLS))
        self.commits += 1
        return seq is not None

    async def record_fill(
        self,
        broker: str,
        fill: OrderFilled | Envelope[Any],
        event_id: str | None = None,
        ts: int | None = None,
    ) -> bool:
        return await self._insert_fills([fill_row(broker, fill, event_id, ts)]) == 1

    async def record_fills_many(
        self, broker: str, fills: Iterable[tuple[OrderFilled, str, int]]
    ) -> int:
        """Record a batch in one statement; returns how many fills were new."""
        return await self._insert_fills([fill_row(broker, f, e, t) for f, e, t in fills])

    async def record_rows(self, rows: Sequence[OrderRow | FillRow]) -> int:
        """Record a batch of order events and fills in one transaction (all or nothing);
        returns how many rows were new."""
        orders = [r for r in rows if isinstance(r, OrderRow)]
        fills = [r for r in rows if isinstance(r, FillRow)]
        if not orders or not fills:
            return await (self._insert_orders(orders) if orders else self._insert_fills(fills))
        async with self._pool.acquire() as conn, conn.transaction():
            new = len(await conn.fetch(_INSERT_ORDERS, *_columns(orders, _order_values)))
            new += len(await conn.fetch(_INSERT_FILLS, *_columns(fills, _fill_values)))
        self.commits += 1
        return new

    async def _insert_orders(self, rows: Sequence[OrderRow]) -> int:
        new = len(await self._pool.fetch(_INSERT_ORDERS, *_columns(rows, _order_values)))
        self.commits += 1
        return new

    async def _insert_fills(self, rows: Sequence[FillRow]) -> int:
        if not rows:
            return 0
        new = len(await self._pool.fetch(_INSERT_FILLS, *_columns(rows, _fill_values)))
        self.commits += 1
        return new

    async def fills(self, broker: str, client_order_id: str | None = None) -> list[FillRow]:
        sql = f"SELECT {', '.join(_FILL_COLS)} FROM fills {_SELECT_WHERE}"
        records = await self._pool.fetch(sql, parse_broker(broker), client_order_id)
        return [_fill_of(r) for r in records]

    async def orders(self, broker: str, client_order_id: str | None = None) -> list[OrderRow]:
        sql = f"SELECT {', '.join(_ORDER_COLS)} FROM orders {_SELECT_WHERE}"
        records = await self._pool.fetch(sql, parse_broker(broker), client_order_id)
        return [msgspec.convert(dict(r), OrderRow) for r in records]

    async def count_fills(self, broker: str) -> int:
        sql = "SELECT count(*) FROM fills WHERE broker = $1"
        return int(await self._pool.fetchval(sql, parse_broker(broker)))

    async def close(self) -> None:
        """Close the pool; safe to call twice."""
        if not self._closed:
            self._closed = True
            await self._pool.close()


async def open_ledger(database_url: str | None, data_dir: str | os.PathLike[str] = "var") -> Ledger:
    """PostgreSQL when DATABASE_URL is set, else the file ledger under `<data_dir>/ledger`."""
    if database_url:
        return await PostgresLedger.connect(database_url)
    return FileLedger(os.path.join(data_dir, "ledger"))
