"""Read models behave the same in Redis and in memory (each test runs over both)."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
import redis.asyncio as aioredis

from actors.portfolio.book import Portfolio
from actors.stores.read_models import (
    BrokerKeys,
    MemoryReadModels,
    ReadModelStore,
    RedisReadModels,
    open_read_models,
)
from schemas.enums import OrderFailReason
from schemas.envelope import new_envelope
from schemas.events import OrderFailed, PnlSnapshot, PositionView
from tests.actors.portfolio.test_attribution import two_strategies_one_instrument
from tests.stores.conftest import make_submitted


def snapshot(as_of_ns: int, *tokens: int, cash: str = "100000.05") -> PnlSnapshot:
    positions = [
        PositionView(
            instrument_token=t,
            quantity=10,
            average_price=Decimal("2450.05"),
            last_price=Decimal("2451.10"),
            realized_pnl=Decimal("0"),
            unrealized_pnl=Decimal("10.50"),
            symbol=f"SYM{t}",
        )
        for t in tokens
    ]
    return PnlSnapshot(
        positions=positions,
        cash=Decimal(cash),
        realized_pnl=Decimal("-12.3456"),
        unrealized_pnl=Decimal("10.50"),
        charges=Decimal("29.15"),
        equity=Decimal("100010.55"),
        as_of_ns=as_of_ns,
        last_seq=7,
        fills=3,
    )


async def test_a_pnl_snapshot_round_trips_with_exact_decimals(read_models: ReadModelStore) -> None:
    snap = snapshot(1_700_000_000_000_000_001, 738561)
    assert await read_models.write_pnl("paper", snap)

    back = await read_models.read_pnl("paper")

    assert back == snap
    assert back is not None and str(back.cash) == "100000.05"
    assert str(back.realized_pnl) == "-12.3456"


async def test_nothing_is_read_before_anything_is_written(read_models: ReadModelStore) -> None:
    assert await read_models.read_pnl("zerodha") is None
    assert await read_models.positions("zerodha") == {}
    assert await read_models.recent_orders("zerodha") == []
    assert await read_models.rejections("zerodha") == {}
    assert await read_models.pipeline_metrics("zerodha") == {}


async def test_an_older_snapshot_does_not_replace_a_newer_one(
    read_models: ReadModelStore,
) -> None:
    # Timestamps differ in the last digit only: the comparison must be exact, not a double's.
    newer, older = snapshot(1_700_000_000_000_000_009, 1), snapshot(1_700_000_000_000_000_008, 2)
    assert await read_models.write_pnl("paper", newer)

    assert not await read_models.write_pnl("paper", older)

    assert await read_models.read_pnl("paper") == newer
    assert set(await read_models.positions("paper")) == {1}


async def test_each_snapshot_replaces_the_positions(read_models: ReadModelStore) -> None:
    await read_models.write_pnl("paper", snapshot(10, 1, 2))
    await read_models.write_pnl("paper", snapshot(11, 2, 3))

    positions = await read_models.positions("paper")

    assert set(positions) == {2, 3}
    assert positions[3].average_price == Decimal("2450.05")


async def test_a_redelivered_order_event_is_listed_once(read_models: ReadModelStore) -> None:
    envelope = new_envelope(make_submitted("c1"), source="paper-broker", broker="paper")

    assert await read_models.write_order_event("paper", envelope)
    assert not await read_models.write_order_event("paper", envelope)

    [listed] = await read_models.recent_orders("paper")
    assert listed["id"] == envelope.id
    assert listed["data"]["client_order_id"] == "c1"


async def test_recent_orders_are_newest_first_and_capped(read_models: ReadModelStore) -> None:
    for i in range(8):  # the fixture caps the list at 5
        await read_models.write_order_event(
            "paper", OrderFailed(client_order_id=f"c{i}", reason=OrderFailReason.MARGIN)
        )

    recent = await read_models.recent_orders("paper", n=10)

    assert [o["data"]["client_order_id"] for o in recent] == ["c7", "c6", "c5", "c4", "c3"]
    assert recent[0]["type"] == "order.failed"
    assert len(await read_models.recent_orders("paper", n=2)) == 2


async def test_rejections_are_counted_per_reason(read_models: ReadModelStore) -> None:
    await read_models.incr_rejection("paper", "MAX_POSITION")
    await read_models.incr_rejection("paper", "MAX_POSITION")
    await read_models.incr_rejection("paper", "RATE_LIMIT", 3)

    assert await read_models.rejections("paper") == {"MAX_POSITION": 2, "RATE_LIMIT": 3}


async def test_brokers_do_not_see_each_other(read_models: ReadModelStore) -> None:
    await read_models.write_pnl("paper", snapshot(1, 1))
    await read_models.incr_rejection("paper", "MAX_POSITION")

    assert await read_models.read_pnl("zerodha") is None
    assert await read_models.rejections("zerodha") == {}


async def test_an_unknown_broker_is_refused(read_models: ReadModelStore) -> None:
    with pytest.raises(ValueError, match="unknown broker"):
        await read_models.incr_rejection("papr", "MAX_POSITION")


async def test_close_is_safe_twice(read_models: ReadModelStore) -> None:
    await read_models.ping()
    await read_models.close()
    await read_models.close()


async def test_redis_keys_follow_the_documented_layout(redis_url: str) -> None:
    store = RedisReadModels(redis_url)
    async with aioredis.Redis.from_url(redis_url) as r:
        await r.flushdb()
        await store.write_pnl("paper", snapshot(5, 738561))
        await store.incr_rejection("paper", "PRICE_COLLAR")

        raw = await r.get("paper:portfolio:pnl")
        position = await r.hget("paper:portfolio:positions", "738561")
        rejected = await r.hget("paper:signals:rejections", "PRICE_COLLAR")
    await store.close()

    assert raw is not None and msgspec.json.decode(raw)["cash"] == "100000.05"
    assert position is not None and msgspec.json.decode(position)["average_price"] == "2450.05"
    assert rejected == b"1"
    assert BrokerKeys.of("zerodha").stage("risk") == "zerodha:pipeline:risk"
    assert BrokerKeys.of(None).stage("feed") == "market:pipeline:feed"


def test_the_fallback_is_memory_without_a_redis_url(redis_url: str) -> None:
    assert isinstance(open_read_models(None), MemoryReadModels)
    assert isinstance(open_read_models(redis_url), RedisReadModels)


async def test_per_strategy_figures_are_stored_and_replaced_with_each_snapshot(
    read_models: ReadModelStore,
) -> None:
    book = two_strategies_one_instrument()
    snap = book.snapshot(as_of_ns=10, last_seq=4)
    assert await read_models.write_pnl("paper", snap)

    strategies = await read_models.strategies("paper")
    assert list(strategies) == ["mom", "rev"]
    assert (strategies["mom"].realized_pnl, strategies["rev"].charges) == (
        Decimal("20"), Decimal("0.90"),
    )  # fmt: skip
    positions = await read_models.strategy_positions("paper")
    assert positions == {(p.strategy_id, p.instrument_token): p for p in snap.strategy_positions}
    assert positions[("mom", 408065)].unrealized_pnl == Decimal("15")

    later = Portfolio(Decimal("1")).snapshot(as_of_ns=11, last_seq=5)  # no strategy traded
    assert await read_models.write_pnl("paper", later)
    assert await read_models.strategies("paper") == {}
    assert await read_models.strategy_positions("paper") == {}
    assert await read_models.strategies("zerodha") == {}


async def test_per_strategy_redis_keys_sit_under_the_broker_prefix(redis_url: str) -> None:
    store = RedisReadModels(redis_url)
    async with aioredis.Redis.from_url(redis_url) as r:
        await r.flushdb()
        await store.write_pnl("paper", two_strategies_one_instrument().snapshot(1, 1))
        summary = await r.hget("paper:portfolio:strategies", "rev")
        position = await r.hget("paper:portfolio:strategy_positions", "mom/408065")
        instrument = await r.hget("paper:portfolio:positions", "408065")
    await store.close()
    assert summary is not None and msgspec.json.decode(summary)["realized_pnl"] == "-4"
    assert position is not None and msgspec.json.decode(position)["quantity"] == 5
    assert instrument is not None and msgspec.json.decode(instrument)["realized_pnl"] == "16.00"
