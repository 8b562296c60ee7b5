"""The embedded ledger (no DATABASE_URL): JSON lines under a directory, ./var/ledger.

Same rows and keys as PostgreSQL, and the same exact dedup, with memory that stays flat
however long the logs grow: no row is held in memory. `orders.jsonl` and `fills.jsonl`
are the ledger; `index.sqlite3` beside them (`actors.stores.ledger_index`) holds every
row's key and where its line starts, and serves the reads. A batch (`record_rows`) is
appended to each log it touches with one write and one `fsync`, then its keys are
committed to the index; `record_*` return only after that, so an actor may ack the inputs
of the batch right after. One process at a time: an exclusive lock file says so early.

The logs are the truth and the index is a cache of them. A crash after a log's `fsync`
and before the index commit leaves lines the index lacks: on open they are indexed before
anything is written (a torn last line, a crash mid-append, is cut off first), so the
redelivered inputs of that batch find their rows and write nothing twice. A write that
fails leaves the ledger to do the same before its next write.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, TypeVar

import msgspec

from actors.errors import LedgerError
from actors.stores.ledger_index import LedgerIndex, LogName
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

T = TypeVar("T")

_encoder = msgspec.json.Encoder(decimal_format="string")
_DECODERS: dict[LogName, msgspec.json.Decoder[Any]] = {
    "orders": msgspec.json.Decoder(OrderRow),
    "fills": msgspec.json.Decoder(FillRow),
}


class FileLedger:
    """`orders.jsonl` and `fills.jsonl` in `path`, indexed; implements `Ledger`."""

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
            self._index = LedgerIndex(self.path / "index.sqlite3", self._log_path, _parse)
        except BaseException:
            lock.close()
            raise
        try:
            self._index.catch_up()
        except BaseException:
            self._index.close()
            lock.close()
            raise
        self._lock: IO[bytes] | None = lock
        # One thread does all disk and index work, in order: sqlite3 wants one user at a
        # time, and the event loop never waits on an fsync.
        self._io = ThreadPoolExecutor(1, thread_name_prefix=f"ledger:{self.path.name}")
        self._write_lock = asyncio.Lock()
        self._fds: dict[LogName, int] = {}  # append-only descriptors of the logs
        self.commits = 0  # batches made durable
        self.fsyncs = 0

    def _log_path(self, log: LogName) -> Path:
        return self.path / f"{log}.jsonl"

    async def record_order(
        self,
        broker: str,
        event: OrderEvent | Envelope[Any],
        event_id: str | None = None,
        ts: int | None = None,
    ) -> bool:
        return await self.record_rows([order_row(broker, event, event_id, ts)]) == 1

    async def record_fill(
        self,
        broker: str,
        fill: OrderFilled | Envelope[Any],
        event_id: str | None = None,
        ts: int | None = None,
    ) -> bool:
        return await self.record_rows([fill_row(broker, fill, event_id, ts)]) == 1

    async def record_fills_many(
        self, broker: str, fills: Iterable[tuple[OrderFilled, str, int]]
    ) -> int:
        """Append the batch with one write and one fsync; returns the rows that were new."""
        return await self.record_rows([fill_row(broker, f, e, t) for f, e, t in fills])

    async def record_rows(self, rows: Sequence[OrderRow | FillRow]) -> int:
        """Append a batch: one write and one fsync per log it touches, then one index
        commit; returns how many rows were new (the rest were recorded before)."""
        if not rows:
            return 0
        async with self._write_lock:
            return await self._run(self._append, rows)

    def _append(self, rows: Sequence[OrderRow | FillRow]) -> int:
        with self._index.batch() as batch:
            lines: dict[LogName, list[bytes]] = {}
            for row in rows:
                log: LogName = "fills" if isinstance(row, FillRow) else "orders"
                line = _encoder.encode(row) + b"\n"
                if batch.add(log, row.broker, _key_of(row), row.client_order_id, line):
                    lines.setdefault(log, []).append(line)
            for log, chunk in lines.items():
                self._append_durably(log, b"".join(chunk))
                self.fsyncs += 1
        if lines:
            self.commits += 1
        return sum(len(c) for c in lines.values())

    def _append_durably(self, log: LogName, data: bytes) -> None:
        """Write and fsync, through a descriptor kept open (no buffer that could hold a
        failed write's bytes for the next one: on any error it is closed and reopened)."""
        fd = self._fds.get(log)
        if fd is None:
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
            fd = self._fds[log] = os.open(self._log_path(log), flags, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            del self._fds[log]
            os.close(fd)
            raise

    def _close_files(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        self._index.close()

    async def fills(self, broker: str, client_order_id: str | None = None) -> list[FillRow]:
        return await self._select("fills", parse_broker(broker), client_order_id)

    async def orders(self, broker: str, client_order_id: str | None = None) -> list[OrderRow]:
        return await self._select("orders", parse_broker(broker), client_order_id)

    async def _select(self, log: LogName, broker: str, client_order_id: str | None) -> list[Any]:
        decoder = _DECODERS[log]
        lines = await self._run(self._index.read_lines, log, broker, client_order_id)
        return [decoder.decode(line) for line in lines]

    async def count_fills(self, broker: str) -> int:
        return self._index.count("fills", parse_broker(broker))

    async def io_cpu_s(self) -> float:
        """CPU seconds its I/O thread has used (encoding, index, writes): for benchmarks."""
        return await self._run(time.thread_time)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._lock is None:
            raise LedgerError("the file ledger is closed")
        return await asyncio.get_running_loop().run_in_executor(self._io, fn, *args)

    async def close(self) -> None:
        if self._lock is not None:
            await asyncio.get_running_loop().run_in_executor(self._io, self._close_files)
            self._io.shutdown(wait=True)
            lock, self._lock = self._lock, None
            lock.close()  # releases the flock


def _key_of(row: OrderRow | FillRow) -> str:
    """The row's natural key within its broker, as one string (`ledger_rows` keys)."""
    return "\x1f".join(row.key[1:])


def _parse(log: LogName, line: bytes) -> tuple[str, str, str]:
    row = _DECODERS[log].decode(line)
    return row.broker, _key_of(row), row.client_order_id
