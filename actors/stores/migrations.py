"""Versioned SQL migrations, applied in order at start.

Files `migrations/NNN_name.sql` are applied once each, all pending ones in one transaction
under a transaction-scoped advisory lock, so two processes starting together neither race
nor half-apply: the second waits for the first, then finds nothing left to do. Each applied
file's checksum is kept in `schema_migrations`; an edited, already-applied file is an error
(write a new migration instead).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import asyncpg  # type: ignore[import-untyped, unused-ignore]

from actors.errors import MigrationError

__all__ = [
    "MIGRATIONS_DIR",
    "LOCK_KEY",
    "Migration",
    "load_migrations",
    "apply_migrations",
    "normalize_dsn",
    "open_migrated_pool",
]

MIGRATIONS_DIR: Final = Path(__file__).with_name("migrations")
# Advisory locks are per database; any constant no other tool of ours uses will do.
LOCK_KEY: Final = 0x41_50_4D_49_47  # "APMIG"
_NAME: Final = re.compile(r"^(\d{3,})_([a-z0-9_]+)\.sql$")

_CREATE_TABLE: Final = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in `directory`, by version; versions must run 1, 2, 3 ... without gaps."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path}: migration files are named NNN_lower_case_name.sql")
        found.append(Migration(int(match[1]), match[2], path.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    expected = list(range(1, len(found) + 1))
    if [m.version for m in found] != expected:
        raise MigrationError(
            f"migration versions in {directory} must be 1..{len(found)} without gaps or "
            f"repeats, found {[m.version for m in found]}"
        )
    return found


async def apply_migrations(
    conn: Any, migrations: Sequence[Migration] | None = None, *, lock_timeout_s: float = 30.0
) -> list[int]:
    """Apply the pending migrations on an asyncpg connection; return the versions applied."""
    todo = load_migrations() if migrations is None else list(migrations)
    applied: list[int] = []
    async with conn.transaction():
        # SET LOCAL takes no parameters; the value is a number we formatted ourselves.
        await conn.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_s * 1000)}ms'")
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
        await conn.execute(_CREATE_TABLE)
        rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
        done: dict[int, str] = {int(r["version"]): str(r["checksum"]) for r in rows}
        for m in todo:
            if m.version in done:
                if done[m.version] != m.checksum:
                    raise MigrationError(
                        f"migration {m.version:03d}_{m.name} changed after it was applied; "
                        "restore the file and add the change as a new migration"
                    )
                continue
            await conn.execute(m.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                m.version,
                m.name,
                m.checksum,
            )
            applied.append(m.version)
    return applied


def normalize_dsn(dsn: str) -> str:
    """Accept SQLAlchemy-style URLs (`postgresql+asyncpg://`) as asyncpg's plain ones."""
    scheme, sep, rest = dsn.partition("://")
    if sep and "+" in scheme:
        scheme = scheme.split("+", 1)[0]
    return f"{scheme}{sep}{rest}"


async def open_migrated_pool(dsn: str, *, min_size: int, max_size: int, init: Any = None) -> Any:
    """A connection pool on a database whose migrations are applied (closed on failure)."""
    pool = await asyncpg.create_pool(
        normalize_dsn(dsn), min_size=min_size, max_size=max_size, init=init
    )
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn)
    except BaseException:
        await pool.close()
        raise
    return pool
