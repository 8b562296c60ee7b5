"""The file ledger's index: every row's key and the offset of its line, in SQLite.

It makes the file ledger's dedup exact without holding keys in memory (the JetStream
duplicate window does not bound how late a duplicate can come: a portfolio rebuilt from
the stream replays every fill the stream retains), and serves its reads from the logs by
offset. It is a cache of the logs, never the truth: for each log it keeps how far it has
read (offset, line count, and a digest of the last line read), and `catch_up` indexes
whatever lies past that point, or rebuilds the log's part from scratch when the log no
longer matches (shorter, or another file restored in its place). An unreadable index
file is replaced by a rebuilt one.

The index commits without an fsync of its own (WAL, `synchronous=NORMAL`): the logs are
fsynced first, and an index commit that a power cut takes back only leaves lines for
`catch_up`, which is what a crash between the log's fsync and the commit leaves too.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import msgspec

from actors.errors import LedgerError

__all__ = ["LOGS", "LogName", "LedgerIndex", "IndexBatch", "Parse"]

LogName = Literal["orders", "fills"]
LOGS: Final[tuple[LogName, ...]] = ("orders", "fills")

#: a log line's (broker, key within the broker, client order id); raises msgspec.DecodeError
Parse = Callable[[LogName, bytes], tuple[str, str, str]]

_VERSION: Final = 1
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS rows (
    log TEXT NOT NULL, broker TEXT NOT NULL, key TEXT NOT NULL,
    client_order_id TEXT NOT NULL, off INTEGER NOT NULL,
    PRIMARY KEY (log, broker, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rows_in_order ON rows (log, broker, off);
CREATE INDEX IF NOT EXISTS rows_of_order ON rows (log, broker, client_order_id, off);
CREATE TABLE IF NOT EXISTS covered (
    log TEXT PRIMARY KEY, off INTEGER NOT NULL, lines INTEGER NOT NULL, tail BLOB NOT NULL
);
"""
_INSERT: Final = "INSERT OR IGNORE INTO rows VALUES (?, ?, ?, ?, ?)"
_COVER: Final = "INSERT OR REPLACE INTO covered VALUES (?, ?, ?, ?)"


@dataclass
class _Covered:
    """How far the index has read a log: up to byte `off`, `lines` lines, the last of
    which has digest `tail` (b"" when nothing was read)."""

    off: int = 0
    lines: int = 0
    tail: bytes = b""


def _digest(line: bytes) -> bytes:
    return hashlib.blake2b(line, digest_size=16).digest()


class LedgerIndex:
    """The index of the logs `log_path(name)`; one user at a time (the ledger's I/O thread)."""

    def __init__(self, path: Path, log_path: Callable[[LogName], Path], parse: Parse) -> None:
        self.path = path
        self._log_path = log_path
        self._parse = parse
        self._dirty = True  # `catch_up` before the first write
        self._counts: dict[tuple[str, str], int] = {}
        try:
            self._db = self._open()
        except sqlite3.DatabaseError:  # not an index (any more): it is only a cache
            for leftover in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
                leftover.unlink(missing_ok=True)
            self._db = self._open()
        self._covered = {log: _Covered() for log in LOGS}
        for log, off, lines, tail in self._db.execute("SELECT * FROM covered"):
            if log in self._covered:
                self._covered[log] = _Covered(off, lines, tail)

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, _VERSION):
                db.execute("DROP TABLE IF EXISTS rows")
                db.execute("DROP TABLE IF EXISTS covered")
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version={_VERSION}")
        except BaseException:
            db.close()
            raise
        return db

    # --- keeping up with the logs ------------------------------------------------------------

    def catch_up(self) -> None:
        """Index what the logs hold past what the index has read; cut a torn last line."""
        for log in LOGS:
            self._catch_up(log)
        self._counts = {
            (log, broker): n
            for log, broker, n in self._db.execute(
                "SELECT log, broker, count(*) FROM rows GROUP BY log, broker"
            )
        }
        self._dirty = False

    def _catch_up(self, log: LogName) -> None:
        path = self._log_path(log)
        cov = self._covered[log]
        if not self._matches(path, cov):
            self._db.execute("DELETE FROM rows WHERE log = ?", (log,))
            self._db.execute("DELETE FROM covered WHERE log = ?", (log,))
            cov = self._covered[log] = _Covered()
        if not path.exists():
            return
        with open(path, "r+b") as f:
            if os.fstat(f.fileno()).st_size == cov.off:
                return
            f.seek(cov.off)
            off, lines, tail = cov.off, cov.lines, cov.tail
            self._db.execute("BEGIN")
            try:
                for line in f:
                    if not line.endswith(b"\n"):  # torn: a crash mid-append
                        f.truncate(off)
                        break
                    lines += 1
                    try:
                        broker, key, order = self._parse(log, line)
                    except msgspec.DecodeError as e:
                        raise LedgerError(
                            f"{path}:{lines}: not a ledger row ({e}); restore the file"
                        ) from e
                    self._db.execute(_INSERT, (log, broker, key, order, off))
                    off, tail = off + len(line), _digest(line)
                self._db.execute(_COVER, (log, off, lines, tail))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        self._covered[log] = _Covered(off, lines, tail)

    @staticmethod
    def _matches(path: Path, cov: _Covered) -> bool:
        """Whether the log still holds, where the index says it read up to, that line."""
        if cov.off == 0:
            return True
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < cov.off:
                    return False
                # the last line read ends at `off`: it starts after the newline before it
                start = max(0, cov.off - 65536)
                f.seek(start)
                before = f.read(cov.off - start)
        except FileNotFoundError:
            return False
        cut = before.rfind(b"\n", 0, len(before) - 1) + 1
        if cut == 0 and start > 0:
            return False  # a line longer than the window: not one of ours
        return _digest(before[cut:]) == cov.tail

    # --- writing -------------------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[IndexBatch]:
        """One batch of new rows: `add` each, write the lines it accepts to the logs, and
        the index commits when the block ends (nothing of it when the block raises)."""
        if self._dirty:
            self.catch_up()
        batch = IndexBatch(self._db, self._covered)
        self._db.execute("BEGIN")
        try:
            yield batch
            covered = batch.covered
            for log, cov in covered.items():
                self._db.execute(_COVER, (log, cov.off, cov.lines, cov.tail))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            self._dirty = True  # the logs may hold some of it: index that before writing
            raise
        self._covered.update(covered)
        for key, n in batch.counts.items():
            self._counts[key] = self._counts.get(key, 0) + n

    # --- reading -------------------------------------------------------------------------------

    def read_lines(self, log: LogName, broker: str, client_order_id: str | None) -> list[bytes]:
        """The lines of `broker`'s rows in log order (of one order, when given)."""
        sql, args = "WHERE log = ? AND broker = ?", [log, broker]
        if client_order_id is not None:
            sql, args = sql + " AND client_order_id = ?", [*args, client_order_id]
        offsets = self._db.execute(f"SELECT off FROM rows {sql} ORDER BY off", args).fetchall()
        out: list[bytes] = []
        if not offsets:
            return out  # the log may not exist yet
        with open(self._log_path(log), "rb") as f:
            for (off,) in offsets:
                f.seek(off)
                out.append(f.readline())
        return out

    def count(self, log: LogName, broker: str) -> int:
        return self._counts.get((log, broker), 0)

    def close(self) -> None:
        self._db.close()


class IndexBatch:
    """The rows of one batch as the index takes them: `add` says whether a row is new."""

    def __init__(self, db: sqlite3.Connection, covered: dict[LogName, _Covered]) -> None:
        self._db = db
        self._base = covered
        self._ends: dict[LogName, tuple[int, int, bytes]] = {}  # offset, lines, last line
        self.counts: dict[tuple[str, str], int] = {}

    def add(self, log: LogName, broker: str, key: str, client_order_id: str, line: bytes) -> bool:
        """Index the row whose line would be appended next to `log`; False when its key is
        indexed already (recorded before, or earlier in this batch): then skip the line."""
        off, lines, _ = self._ends.get(log) or (self._base[log].off, self._base[log].lines, b"")
        cur = self._db.execute(_INSERT, (log, broker, key, client_order_id, off))
        if cur.rowcount != 1:
            return False
        self._ends[log] = (off + len(line), lines + 1, line)
        self.counts[(log, broker)] = self.counts.get((log, broker), 0) + 1
        return True

    @property
    def covered(self) -> dict[LogName, _Covered]:
        """How far each log it touched reaches once its lines are appended."""
        return {log: _Covered(o, n, _digest(last)) for log, (o, n, last) in self._ends.items()}
