"""Strategy and instrument configuration: stored as strategies.yaml shapes it, changed live."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg  # type: ignore[import-untyped, unused-ignore]
import pytest

from actors.stores.config_store import ConfigChange, ConfigStore
from schemas.errors import ConfigError
from tests.stores.conftest import uid


@pytest.fixture
async def config(database_url: str) -> AsyncIterator[ConfigStore]:
    store = await ConfigStore.connect(database_url)
    yield store
    await store.close()


def entry(strategy_id: str, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": strategy_id,
        "type": "momentum",
        "instruments": [738561, 256265],
        "brokers": ["paper"],
        "enabled": True,
        "params": {"lookback": 20, "threshold": "0.0125", "nested": {"a": [1, 2]}},
    }
    return base | changes


async def test_a_strategy_round_trips_as_a_yaml_entry(config: ConfigStore) -> None:
    strategy = entry(uid("s"))

    assert await config.upsert_strategy(strategy)

    assert await config.get_strategy(strategy["id"]) == strategy
    assert strategy in await config.load_strategies()


async def test_an_unchanged_upsert_is_a_no_op(config: ConfigStore) -> None:
    strategy = entry(uid("s"))
    await config.upsert_strategy(strategy)

    assert not await config.upsert_strategy(strategy)
    assert await config.upsert_strategy(strategy | {"params": {"lookback": 30}})


async def test_enabled_is_set_globally_or_per_broker(config: ConfigStore) -> None:
    sid = uid("s")
    await config.upsert_strategy(entry(sid))

    assert await config.set_enabled(sid, False)
    assert await config.set_enabled(sid, True, broker="zerodha")
    assert await config.set_enabled(sid, True, broker="zerodha")  # already there: kept once
    assert await config.set_enabled(sid, False, broker="paper")
    assert not await config.set_enabled(uid("missing"), True)

    stored = await config.get_strategy(sid)
    assert stored is not None and (stored["enabled"], stored["brokers"]) == (False, ["zerodha"])


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"brokers": ["nse"]}, "unknown broker"),
        ({"enabled": "yes"}, "enabled"),
        ({"colour": "red"}, "colour"),
        ({"type": None}, "type"),
    ],
)
async def test_an_invalid_strategy_is_refused(
    config: ConfigStore, changes: dict[str, Any], error: str
) -> None:
    with pytest.raises(ConfigError, match=error):
        await config.upsert_strategy(entry(uid("s"), **changes))


async def test_instruments_are_upserted_from_dump_rows(config: ConfigStore) -> None:
    token = int(uid("1").replace("1-", "")[:7], 16)
    row = {
        "instrument_token": str(token),  # a CSV gives strings
        "exchange_token": "2885",
        "tradingsymbol": "RELIANCE",
        "name": "RELIANCE INDUSTRIES",
        "last_price": "0",  # a dump column we do not keep
        "expiry": "",
        "strike": "0",
        "tick_size": "0.05",
        "lot_size": "1",
        "instrument_type": "EQ",
        "segment": "NSE",
        "exchange": "NSE",
    }
    assert await config.upsert_instruments([row]) == 1
    assert await config.upsert_instruments([row]) == 0  # identical: not rewritten
    future = row | {"instrument_type": "FUT", "expiry": "2024-01-25", "lot_size": 250}
    assert await config.upsert_instruments([row, future]) == 1  # last one wins

    [stored] = [i for i in await config.load_instruments() if i["instrument_token"] == token]
    assert stored["tick_size"] == Decimal("0.05") and str(stored["tick_size"]) == "0.05"
    assert (stored["expiry"], stored["lot_size"]) == (date(2024, 1, 25), 250)


async def test_a_bad_instrument_row_is_refused(config: ConfigStore) -> None:
    with pytest.raises(ConfigError, match="tick_size"):
        await config.upsert_instruments([{"instrument_token": 1, "tradingsymbol": "X",
                                          "exchange": "NSE", "tick_size": "abc"}])  # fmt: skip


async def test_changes_are_announced_after_they_commit(
    config: ConfigStore, database_url: str
) -> None:
    changes: asyncio.Queue[ConfigChange] = asyncio.Queue()
    subscription = await config.subscribe_changes(changes.put_nowait)
    sid = uid("s")
    try:
        await config.upsert_strategy(entry(sid))
        await config.set_enabled(sid, False)
        async with asyncio.timeout(5):
            got = [await changes.get() for _ in range(2)]
        conn = await asyncpg.connect(database_url)  # a change made by hand in psql counts
        async with conn.transaction():
            await conn.execute("UPDATE strategies SET params = '{}' WHERE id = $1", sid)
            await asyncio.sleep(0.05)
            assert changes.empty()  # not before the commit
        await conn.close()
        async with asyncio.timeout(5):
            got.append(await changes.get())
    finally:
        await subscription.close()

    assert got == [
        ConfigChange(table="strategies", op="INSERT", key=sid),
        ConfigChange(table="strategies", op="UPDATE", key=sid),
        ConfigChange(table="strategies", op="UPDATE", key=sid),
    ]


async def test_instrument_changes_are_announced_once_per_statement(config: ConfigStore) -> None:
    changes: list[ConfigChange] = []
    got_one = asyncio.Event()

    async def on_change(change: ConfigChange) -> None:
        changes.append(change)
        got_one.set()

    subscription = await config.subscribe_changes(on_change)
    tokens = [int(uid("").replace("-", "")[:6], 16) * 10 + i for i in range(50)]
    rows = [{"instrument_token": t, "tradingsymbol": f"S{t}", "exchange": "NSE",
             "tick_size": "0.05"} for t in tokens]  # fmt: skip
    await config.upsert_instruments(rows)
    async with asyncio.timeout(5):
        await got_one.wait()
    await asyncio.sleep(0.1)
    await subscription.close()

    assert changes == [ConfigChange(table="instruments", op="CHANGE", key=None)]


async def test_a_failing_callback_ends_the_subscription_loudly(config: ConfigStore) -> None:
    def broken(change: ConfigChange) -> None:
        raise RuntimeError(f"cannot apply {change.key}")

    subscription = await config.subscribe_changes(broken)
    sid = uid("s")
    await config.upsert_strategy(entry(sid))

    with pytest.raises(RuntimeError, match=f"cannot apply {sid}"):
        async with asyncio.timeout(5):
            await subscription.wait()
    await subscription.close()
    await subscription.close()


async def test_a_closed_subscription_waits_no_more(config: ConfigStore) -> None:
    subscription = await config.subscribe_changes(lambda change: None)
    waiter = asyncio.create_task(subscription.wait())

    await subscription.close()

    async with asyncio.timeout(5):
        await waiter
