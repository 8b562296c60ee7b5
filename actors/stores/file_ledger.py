"""The embedded ledger (no DATABASE_URL): JSON lines under a directory, ./var/ledger.

Same rows and keys as PostgreSQL. The logs are loaded into memory on open and deduplicated
there; each new row is appended and fsynced before `record_*` returns, so an actor may ack
its input right after. One process at a time: an exclusive lock file says so early.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

import msgspec

from actors.errors import LedgerError
from actors.stores.ledger_rows import (
    FillRow,
    OrderEvent,
    OrderRow,
    fill_row,
    order_row,
)
from schemas.envelope import Envelope
from schemas.events import OrderFilled
from schemas.names import parse_broker

__all__ = ["FileLedger"]

R = TypeVar("R", OrderRow, FillRow)

_encoder = msgspec.json.Encoder(decimal_format="string")


class FileLedger:
    """`orders.jsonl` and `fills.jsonl` in `path`; implements `Ledger`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        lock = open(self.path / ".lock", "wb")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            raise LedgerError(
                f"{self.path} is in use by another process; stop it, or set DATABASE_URL "
                "so that processes share the PostgreSQL ledger"
            ) from None
        try:
            self._orders = _Log(self.path / "orders.jsonl", OrderRow)
            self._fills = _Log(self.path / "fills.jsonl", FillRow)
        except BaseException:
            lock.close()
            raise
        self._lock: IO[bytes] | None = lock
        self._write_lock = asyncio.Lock()

    async def record_order(
        self,
        broker: str,
        event: OrderEvent | Envelope[Any],
        event_id: str | None = None,
        ts: int | None = None,
    ) -> bool:
        return await self._append(self._orders, [order_row(broker, event, event_id, ts)]) == 1

    async def record_fill(
        self,
        broker: str,
        fill: OrderFilled | Envelope[Any],
        event_id: str | None = None,
        ts: int | None = None,
    ) -> bool:
        return await self._append(self._fills, [fill_row(broker, fill, event_id, ts)]) == 1

    async def record_fills_many(
        self, broker: str, fills: Iterable[tuple[OrderFilled, str, int]]
    ) -> int:
        """Append the batch with one write and one fsync; returns the rows that were new."""
        return await self._append(self._fills, [fill_row(broker, f, e, t) for f, e, t in fills])

    async def _append(self, log: _Log[R], rows: list[R]) -> int:
        if self._lock is None:
            raise LedgerError("the file ledger is closed")
        async with self._write_lock:
            fresh: dict[Any, R] = {}
            for row in rows:
                if row.key not in log.keys:
                    fresh.setdefault(row.key, row)
            if fresh:
                data = b"".join(_encoder.encode(r) + b"\n" for r in fresh.values())
                await asyncio.to_thread(_append_durably, log.path, data)
                log.keys.update(fresh)
                log.rows.extend(fresh.values())
            return len(fresh)

    async def fills(self, broker: str, client_order_id: str | None = None) -> list[FillRow]:
        return self._fills.select(parse_broker(broker), client_order_id)

    async def orders(self, broker: str, client_order_id: str | None = None) -> list[OrderRow]:
        return self._orders.select(parse_broker(broker), client_order_id)

    async def count_fills(self, broker: str) -> int:
        return len(self._fills.select(parse_broker(broker), None))

    async def close(self) -> None:
        if self._lock is not None:
            lock, self._lock = self._lock, None
            lock.close()  # releases the flock


class _Log(Generic[R]):
    """One JSON-lines file, loaded; `keys` are the dedup keys of its rows."""

    def __init__(self, path: Path, kind: type[R]) -> None:
        self.path = path
        self.rows: list[R] = []
        self.keys: set[Any] = set()
        for row in _load(path, kind):
            # A key seen twice (files concatenated, a restore) counts once, as in PostgreSQL.
            if row.key not in self.keys:
                self.keys.add(row.key)
                self.rows.append(row)

    def select(self, broker: str, client_order_id: str | None) -> list[R]:
        return [
            r
            for r in self.rows
            if r.broker == broker and client_order_id in (None, r.client_order_id)
        ]


def _append_durably(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _load(path: Path, kind: type[R]) -> list[R]:
    """Read a JSON-lines log; a torn last line (a crash mid-append) is cut off."""
    if not path.exists():
        return []
    raw = path.read_bytes()
    good = raw.rfind(b"\n") + 1
    if good < len(raw):
        with open(path, "r+b") as f:
            f.truncate(good)
    decoder = msgspec.json.Decoder(kind)
    rows: list[R] = []
    for n, line in enumerate(raw[:good].splitlines(), 1):
        try:
            rows.append(decoder.decode(line))
        except msgspec.DecodeError as e:
            raise LedgerError(f"{path}:{n}: not a ledger row ({e}); restore the file") from e
    return rows
