"""`alpha-panda up` with REDIS_URL and DATABASE_URL: the ledger in PostgreSQL, read models in
Redis, strategies seeded into their table — against real throwaway servers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import asyncpg  # type: ignore[import-untyped, unused-ignore]
import pytest
import redis.asyncio as aioredis

from schemas.events import OrderFilled, PnlSnapshot
from tests.conftest import NatsServer
from tests.e2e.conftest import (
    AlphaPanda,
    connected,
    eventually,
    payloads,
    read_stream,
    subject_counts,
)
from tests.stores.conftest import (  # noqa: F401 - fixtures
    database_server,
    fresh_database_url,
    redis_server,
    redis_url,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(90)
async def test_up_keeps_its_ledger_in_postgresql_and_its_read_models_in_redis(
    alpha_panda: Callable[..., AlphaPanda],
    fresh_nats: NatsServer,
    fresh_database_url: str,  # noqa: F811
    redis_url: str,  # noqa: F811
) -> None:
    redis_db = redis_url.rsplit("/", 1)[0] + "/3"
    async with aioredis.Redis.from_url(redis_db) as r:
        await r.flushdb()
    app = alpha_panda(
        nats_url=fresh_nats.url,
        strategies=REPO / "strategies.yaml",
        extra={"DATABASE_URL": fresh_database_url, "REDIS_URL": redis_db,
               "ALPHA_PANDA_FEED_RATE": "300", "ALPHA_PANDA_FEED_MAX_TICKS": "3000"},
    )  # fmt: skip
    async with connected(fresh_nats.url) as bus:

        async def traded() -> bool:
            counts = await subject_counts(bus, "PAPER")
            return (
                counts.get("paper.orders.filled", 0) >= 20
                and counts.get("paper.pnl.snapshots", 0) >= 2
            )

        await eventually(traded, "fills and PnL snapshots", app=app, timeout_s=60)
        assert await app.stop() == 0
        events = await read_stream(bus, "PAPER")

    fills = payloads(OrderFilled, [e.data for s, e in events if s == "paper.orders.filled"])
    assert all(isinstance(f, OrderFilled) for f in fills)
    last_pnl = [e.data for s, e in events if s == "paper.pnl.snapshots"][-1]
    assert isinstance(last_pnl, PnlSnapshot)

    conn = await asyncpg.connect(fresh_database_url)
    try:
        rows = await conn.fetch("SELECT fill_id, price FROM fills WHERE broker = 'paper'")
        strategies = {r["id"] for r in await conn.fetch("SELECT id FROM strategies")}
    finally:
        await conn.close()
    assert last_pnl.fills == len(rows), "the final snapshot at stop is not behind the ledger"
    assert sorted(r["fill_id"] for r in rows) == sorted(f.fill_id for f in fills)
    by_id = {f.fill_id: f.price for f in fills}
    assert all(r["price"] == by_id[r["fill_id"]] for r in rows), "NUMERIC, exact"
    assert "momentum-banks" in strategies, "the table was seeded from strategies.yaml"

    async with aioredis.Redis.from_url(redis_db, decode_responses=True) as r:
        pnl = json.loads(await r.get("paper:portfolio:pnl"))
        stages = {s: await r.hgetall(f"paper:pipeline:{s}") for s in ("ticks", "signals", "filled")}
        recent = await r.lrange("paper:orders:recent", 0, -1)
    assert pnl["fills"] == last_pnl.fills, "the final snapshot at stop went to Redis too"
    assert int(stages["filled"]["count"]) == len(fills)
    assert int(stages["ticks"]["count"]) > 0
    assert int(stages["signals"]["count"]) >= len(fills)
    assert recent, "recent order events are listed for the status pages"
