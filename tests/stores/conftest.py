"""Real, throwaway Redis and PostgreSQL (DESIGN "Testing against real servers").

Reusable by other test packages: `redis_url` (a redis-server of the session on a free
port, via pytest-redis) and `database_url` (a uniquely named database on the local
PostgreSQL server, `TEST_DATABASE_URL`, dropped at the end). `fresh_database_url` is an
empty database of the test's own, for tests that must see a virgin schema.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
import pytest
import redis.asyncio as aioredis
from pytest_postgresql.janitor import DatabaseJanitor
from pytest_redis import factories
from pytest_redis.executor import RedisExecutor

from actors.stores.file_ledger import FileLedger
from actors.stores.ledger import Ledger, PostgresLedger
from actors.stores.read_models import MemoryReadModels, ReadModelStore, RedisReadModels
from schemas.enums import OrderType, Side
from schemas.events import Charges, OrderFilled, OrderSubmitted

__all__ = [
    "DEFAULT_TEST_DATABASE_URL",
    "ThrowawayDatabases",
    "uid",
    "make_submitted",
    "make_fill",
]

DEFAULT_TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

# No port: pytest-redis then picks a free one (unless --redis-port or redis_port says).
redis_server = factories.redis_proc(
    executable=shutil.which("redis-server") or "/usr/bin/redis-server"
)


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisExecutor) -> str:
    return f"redis://{redis_server.host}:{redis_server.port}/0"


class ThrowawayDatabases:
    """Creates uniquely named databases on a server and drops them (pytest-postgresql's
    janitor: it also disconnects leftover sessions first)."""

    def __init__(self, admin_url: str) -> None:
        self._url = urlsplit(admin_url)
        self._janitors: list[DatabaseJanitor] = []

    def _janitor(self, dbname: str) -> DatabaseJanitor:
        u = self._url
        return DatabaseJanitor(
            user=unquote(u.username or "postgres"),
            password=unquote(u.password) if u.password else None,
            host=u.hostname or "127.0.0.1",
            port=u.port or 5432,
            dbname=dbname,
            maintenance_dbname=u.path.lstrip("/") or "postgres",
        )

    def check(self) -> None:
        try:
            psycopg.connect(urlunsplit(self._url), connect_timeout=5).close()
        except psycopg.OperationalError as e:
            pytest.fail(
                f"PostgreSQL at {self._url.hostname}:{self._url.port} is not reachable ({e}); "
                "start it (`pg_ctlcluster --skip-systemctl-redirect 15 main start`) or set "
                "TEST_DATABASE_URL"
            )

    def create(self, label: str = "ap_test") -> str:
        """A new empty database; returns its URL."""
        dbname = f"{label}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        janitor = self._janitor(dbname)
        janitor.init()
        self._janitors.append(janitor)
        return urlunsplit(self._url._replace(path=f"/{dbname}"))

    def drop(self, url: str) -> None:
        dbname = urlsplit(url).path.lstrip("/")
        for janitor in [j for j in self._janitors if j.dbname == dbname]:
            janitor.drop()
            self._janitors.remove(janitor)

    def drop_all(self) -> None:
        while self._janitors:
            self._janitors.pop().drop()


@pytest.fixture(scope="session")
def database_server() -> Iterator[ThrowawayDatabases]:
    databases = ThrowawayDatabases(os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL))
    databases.check()
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def database_url(database_server: ThrowawayDatabases) -> str:
    return database_server.create()


@pytest.fixture
def fresh_database_url(database_server: ThrowawayDatabases) -> Iterator[str]:
    url = database_server.create("ap_fresh")
    yield url
    database_server.drop(url)


@pytest.fixture(params=["redis", "memory"])
async def read_models(
    request: pytest.FixtureRequest, redis_url: str
) -> AsyncIterator[ReadModelStore]:
    """The same tests over both implementations: Redis (emptied first) and memory."""
    store: ReadModelStore
    if request.param == "redis":
        async with aioredis.Redis.from_url(redis_url) as r:
            await r.flushdb()
        store = RedisReadModels(redis_url, recent_orders_cap=5)
    else:
        store = MemoryReadModels(recent_orders_cap=5)
    yield store
    await store.close()


@pytest.fixture(params=["postgres", "file"])
async def ledger(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> AsyncIterator[Ledger]:
    """The same tests over both ledgers. The PostgreSQL one is shared by the session (it is
    append-only), so tests use unique order and fill ids and count differences."""
    store: Ledger
    if request.param == "postgres":
        store = await PostgresLedger.connect(database_url)
    else:
        store = FileLedger(tmp_path / "ledger")
    yield store
    await store.close()


def uid(prefix: str) -> str:
    """An id no other test uses (the PostgreSQL ledger is shared by the session)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def make_submitted(
    client_order_id: str, *, limit_price: Decimal | None = None, quantity: int = 10
) -> OrderSubmitted:
    return OrderSubmitted(
        client_order_id=client_order_id,
        signal_id=f"sig-{client_order_id}",
        strategy_id="momentum-1",
        instrument_token=738561,
        symbol="RELIANCE",
        side=Side.BUY,
        quantity=quantity,
        order_type=OrderType.LIMIT if limit_price is not None else OrderType.MARKET,
        limit_price=limit_price,
    )


def make_fill(
    client_order_id: str,
    fill_id: str,
    *,
    price: Decimal = Decimal("2450.05"),
    quantity: int = 10,
    final: bool = True,
) -> OrderFilled:
    return OrderFilled(
        client_order_id=client_order_id,
        broker_order_id=f"B{client_order_id}",
        fill_id=fill_id,
        strategy_id="momentum-1",
        instrument_token=738561,
        symbol="RELIANCE",
        side=Side.BUY,
        quantity=quantity,
        price=price,
        cumulative_quantity=quantity,
        order_quantity=quantity,
        average_price=price,
        final=final,
        charges=Charges(
            brokerage=Decimal("0"),
            stt=Decimal("24.50"),
            exchange_txn=Decimal("0.7974"),
            sebi=Decimal("0.0245"),
            stamp_duty=Decimal("3.68"),
            gst=Decimal("0.1479"),
        ),
    )
