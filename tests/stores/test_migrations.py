"""Migrations apply once, in order, even when processes start together."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg  # type: ignore[import-untyped, unused-ignore]
import pytest

from actors.errors import MigrationError
from actors.stores.config_store import ConfigStore
from actors.stores.ledger import PostgresLedger
from actors.stores.migrations import Migration, apply_migrations, load_migrations, normalize_dsn


async def _versions(url: str) -> list[int]:
    conn = await asyncpg.connect(url)
    try:
        return [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")]
    finally:
        await conn.close()


async def test_all_migrations_apply_in_order_then_none(fresh_database_url: str) -> None:
    conn = await asyncpg.connect(fresh_database_url)
    try:
        assert await apply_migrations(conn) == [m.version for m in load_migrations()]
        assert await apply_migrations(conn) == []
    finally:
        await conn.close()

    assert sorted(await _versions(fresh_database_url)) == [1, 2]


async def test_processes_starting_together_migrate_once(fresh_database_url: str) -> None:
    stores = await asyncio.gather(
        PostgresLedger.connect(fresh_database_url),
        PostgresLedger.connect(fresh_database_url),
        ConfigStore.connect(fresh_database_url),
        ConfigStore.connect(fresh_database_url),
    )
    for store in stores:
        await store.close()

    assert sorted(await _versions(fresh_database_url)) == [1, 2]


async def test_an_applied_migration_that_changed_is_refused(fresh_database_url: str) -> None:
    first = Migration(1, "t", "CREATE TABLE t (x int)")
    conn = await asyncpg.connect(fresh_database_url)
    try:
        await apply_migrations(conn, [first])
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await apply_migrations(conn, [Migration(1, "t", "CREATE TABLE t (x bigint)")])
    finally:
        await conn.close()


async def test_a_failing_migration_applies_nothing(fresh_database_url: str) -> None:
    good, bad = Migration(1, "ok", "CREATE TABLE ok (x int)"), Migration(2, "bad", "SELEC 1")
    conn = await asyncpg.connect(fresh_database_url)
    try:
        with pytest.raises(asyncpg.PostgresSyntaxError):
            await apply_migrations(conn, [good, bad])
        assert await conn.fetchval("SELECT to_regclass('ok')") is None
        assert await apply_migrations(conn, [good]) == [1]
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("files", "error"),
    [
        (["001_a.sql", "003_c.sql"], "without gaps"),
        (["001_a.sql", "001_b.sql"], "without gaps"),
        (["1-init.sql"], "named NNN_"),
    ],
)
def test_migration_files_are_numbered_without_gaps(
    tmp_path: Path, files: list[str], error: str
) -> None:
    for name in files:
        (tmp_path / name).write_text("SELECT 1;")

    with pytest.raises(MigrationError, match=error):
        load_migrations(tmp_path)


def test_the_shipped_migrations_load() -> None:
    assert [(m.version, m.name) for m in load_migrations()] == [(1, "ledger"), (2, "config")]


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("postgresql+asyncpg://u@h/db", "postgresql://u@h/db"),
        ("postgresql://u:p+q@h/db", "postgresql://u:p+q@h/db"),
    ],
)
def test_sqlalchemy_style_urls_are_accepted(dsn: str, expected: str) -> None:
    assert normalize_dsn(dsn) == expected
