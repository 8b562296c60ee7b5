"""Strategy and instrument configuration in PostgreSQL, with live change notification.

A strategy row has the fields of a strategies.yaml entry (id, type, instruments, brokers,
enabled, params) and runs on broker B when `enabled` and B is in `brokers`. Every change,
from this API or from psql, is announced on the `alpha_panda_config` channel by a trigger
(migration 002) once its transaction commits; `subscribe_changes` delivers it. Notices are
not queued for absent listeners, so a subscriber reloads everything when it (re)subscribes.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Final

import asyncpg  # type: ignore[import-untyped, unused-ignore]
import msgspec

from actors.stores.migrations import normalize_dsn, open_migrated_pool
from schemas.errors import ConfigError
from schemas.names import parse_broker

__all__ = [
    "CHANNEL",
    "ConfigChange",
    "ConfigStore",
    "ConfigSubscription",
    "StrategyEntry",
    "InstrumentEntry",
]

CHANNEL: Final = "alpha_panda_config"


class StrategyEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One strategies.yaml entry, as validated before it is stored."""

    id: str
    type: str
    instruments: list[Any] = msgspec.field(default_factory=list)
    brokers: list[str] = msgspec.field(default_factory=list)
    enabled: bool = True
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class InstrumentEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One instrument, shaped after a row of Kite's instruments dump (extra columns ignored)."""

    instrument_token: int
    tradingsymbol: str
    exchange: str
    tick_size: Decimal
    lot_size: int = 1
    exchange_token: int | None = None
    name: str = ""
    segment: str = ""
    instrument_type: str = "EQ"
    expiry: date | None = None
    strike: Decimal | None = None


class ConfigChange(msgspec.Struct, frozen=True, kw_only=True):
    """A committed change. Strategies: `op` INSERT|UPDATE|DELETE, `key` the strategy id.
    Instruments: `op` CHANGE, `key` None (one notice per statement: reload the table)."""

    table: str
    op: str
    key: str | None = None


_STRATEGY_COLS: Final = StrategyEntry.__struct_fields__
_INSTRUMENT_COLS: Final = InstrumentEntry.__struct_fields__
_INSTRUMENT_TYPES: Final = {
    "instrument_token": "bigint",
    "exchange_token": "bigint",
    "tick_size": "numeric",
    "lot_size": "integer",
    "expiry": "date",
    "strike": "numeric",
}
_UPSERT_STRATEGY: Final = f"""
INSERT INTO strategies ({", ".join(_STRATEGY_COLS)}) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in _STRATEGY_COLS[1:])}, updated_at = now()
WHERE ({", ".join(f"strategies.{c}" for c in _STRATEGY_COLS[1:])})
    IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in _STRATEGY_COLS[1:])})
RETURNING id
"""
_SET_BROKER: Final = """
UPDATE strategies SET updated_at = now(), brokers = CASE
    WHEN NOT $2 THEN brokers - $3::text
    WHEN brokers ? $3::text THEN brokers
    ELSE brokers || jsonb_build_array($3::text) END
WHERE id = $1 RETURNING id
"""
# One statement for the whole dump; a row identical to the stored one is not rewritten.
_UPSERT_INSTRUMENTS: Final = f"""
INSERT INTO instruments ({", ".join(_INSTRUMENT_COLS)})
SELECT * FROM unnest({
    ", ".join(
        f"${i}::{_INSTRUMENT_TYPES.get(c, 'text')}[]" for i, c in enumerate(_INSTRUMENT_COLS, 1)
    )
})
ON CONFLICT (instrument_token) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in _INSTRUMENT_COLS[1:])}, updated_at = now()
WHERE ({", ".join(f"instruments.{c}" for c in _INSTRUMENT_COLS[1:])})
    IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in _INSTRUMENT_COLS[1:])})
RETURNING instrument_token
"""
_change_decoder: Final = msgspec.json.Decoder(ConfigChange)


def _validated(entry: Mapping[str, Any]) -> StrategyEntry:
    try:
        strategy = msgspec.convert(dict(entry), StrategyEntry)
        for b in strategy.brokers:
            parse_broker(b)
    except (msgspec.ValidationError, ValueError) as e:
        raise ConfigError(f"strategy {entry.get('id', '?')!r}: {e}") from e
    return strategy


def _instrument(row: Mapping[str, Any]) -> InstrumentEntry:
    cleaned = {k: (None if v == "" else v) for k, v in row.items()}  # CSV blanks
    try:
        return msgspec.convert(cleaned, InstrumentEntry, strict=False)
    except msgspec.ValidationError as e:
        raise ConfigError(f"instrument {row.get('instrument_token', '?')!r}: {e}") from e


async def _init_connection(conn: Any) -> None:
    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=lambda v: msgspec.json.encode(v).decode(),
        decoder=msgspec.json.decode,
    )


class ConfigStore:
    """Strategies and instruments tables; `connect()` applies the migrations."""

    def __init__(self, pool: Any, dsn: str) -> None:
        self._pool = pool
        self._dsn = dsn
        self._closed = False

    @classmethod
    async def connect(cls, dsn: str, *, min_size: int = 1, max_size: int = 2) -> ConfigStore:
        dsn = normalize_dsn(dsn)
        pool = await open_migrated_pool(
            dsn, min_size=min_size, max_size=max_size, init=_init_connection
        )
        return cls(pool, dsn)

    async def load_strategies(self) -> list[dict[str, Any]]:
        """Every strategy as a plain dict with the strategies.yaml fields, by id."""
        sql = f"SELECT {', '.join(_STRATEGY_COLS)} FROM strategies ORDER BY id"
        return [dict(r) for r in await self._pool.fetch(sql)]

    async def get_strategy(self, strategy_id: str) -> dict[str, Any] | None:
        sql = f"SELECT {', '.join(_STRATEGY_COLS)} FROM strategies WHERE id = $1"
        record = await self._pool.fetchrow(sql, strategy_id)
        return None if record is None else dict(record)

    async def upsert_strategy(self, entry: Mapping[str, Any]) -> bool:
        """Insert or replace a strategy; False (and no notice) if it was already so."""
        s = _validated(entry)
        args = [getattr(s, c) for c in _STRATEGY_COLS]
        return await self._pool.fetchval(_UPSERT_STRATEGY, *args) is not None

    async def set_enabled(
        self, strategy_id: str, enabled: bool, *, broker: str | None = None
    ) -> bool:
        """Without `broker`, set the strategy's `enabled` flag; with one, add the broker to
        (or remove it from) `brokers`, leaving the flag alone. False if no such strategy."""
        if broker is None:
            sql = (
                "UPDATE strategies SET enabled = $2, updated_at = now() WHERE id = $1 RETURNING id"
            )
            found = await self._pool.fetchval(sql, strategy_id, enabled)
        else:
            found = await self._pool.fetchval(
                _SET_BROKER, strategy_id, enabled, parse_broker(broker)
            )
        return found is not None

    async def load_instruments(self) -> list[dict[str, Any]]:
        sql = f"SELECT {', '.join(_INSTRUMENT_COLS)} FROM instruments ORDER BY instrument_token"
        return [dict(r) for r in await self._pool.fetch(sql)]

    async def upsert_instruments(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert or update instruments by token (last one wins); returns rows changed."""
        entries = {e.instrument_token: e for e in map(_instrument, rows)}
        if not entries:
            return 0
        columns = [[getattr(e, c) for e in entries.values()] for c in _INSTRUMENT_COLS]
        return len(await self._pool.fetch(_UPSERT_INSTRUMENTS, *columns))

    async def subscribe_changes(
        self, callback: Callable[[ConfigChange], Awaitable[None] | None]
    ) -> ConfigSubscription:
        """Call `callback` for each committed change, in order, on a dedicated connection."""
        return await ConfigSubscription.open(self._dsn, callback)

    async def close(self) -> None:
        """Close the pool; safe to call twice. Subscriptions are closed by their owners."""
        if not self._closed:
            self._closed = True
            await self._pool.close()


class ConfigSubscription:
    """A running subscription. `wait()` raises when it dies (the callback raised, or the
    connection was lost): the owning actor awaits it, crashes, and resubscribes on restart."""

    def __init__(self, conn: Any, callback: Callable[[ConfigChange], Awaitable[None] | None]):
        self._conn = conn
        self._callback = callback
        self._queue: asyncio.Queue[ConfigChange | BaseException] = asyncio.Queue()
        self._task = asyncio.create_task(self._pump(), name="config-changes")

    @classmethod
    async def open(
        cls, dsn: str, callback: Callable[[ConfigChange], Awaitable[None] | None]
    ) -> ConfigSubscription:
        conn = await asyncpg.connect(dsn)
        subscription = cls(conn, callback)
        try:
            await conn.add_listener(CHANNEL, subscription._on_notify)
            conn.add_termination_listener(subscription._on_terminated)
        except BaseException:
            await subscription.close()
            raise
        return subscription

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        try:
            change = _change_decoder.decode(payload)
        except msgspec.DecodeError:  # a hand-made NOTIFY: treat as "reload everything"
            change = ConfigChange(table="", op="NOTIFY", key=None)
        self._queue.put_nowait(change)

    def _on_terminated(self, conn: Any) -> None:
        lost = ConnectionError("the configuration LISTEN connection to PostgreSQL was lost")
        self._queue.put_nowait(lost)

    async def _pump(self) -> None:
        while True:
            item = await self._queue.get()
            if isinstance(item, BaseException):
                raise item
            result = self._callback(item)
            if inspect.isawaitable(result):
                await result

    async def wait(self) -> None:
        """Return when closed; raise the error that ended the subscription otherwise."""
        await asyncio.wait([self._task])
        if not self._task.cancelled() and (error := self._task.exception()) is not None:
            raise error

    async def close(self) -> None:
        """Stop listening and close the connection; safe to call twice."""
        self._task.cancel()
        await asyncio.wait([self._task])  # raises only if close() itself is cancelled
        if not self._task.cancelled():
            self._task.exception()  # retrieved: closing is how the owner handles it
        if not self._conn.is_closed():
            with contextlib.suppress(Exception):
                await self._conn.remove_listener(CHANNEL, self._on_notify)
            await self._conn.close()
