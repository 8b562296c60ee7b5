"""Pipeline metrics accumulate in memory and reach the store in one batch per flush."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
import redis.exceptions

from actors.stores.pipeline_metrics import PipelineMetrics
from actors.stores.read_models import (
    MemoryReadModels,
    ReadModelStore,
    RedisReadModels,
    StageMetrics,
)
from supervisors.embedded_nats import free_port


async def _transactions(redis_url: str) -> int:
    async with aioredis.Redis.from_url(redis_url) as r:
        stats: dict[str, Any] = await r.info("commandstats")
    return int(stats.get("cmdstat_exec", {}).get("calls", 0))


async def test_many_increments_reach_the_store_in_one_flush(read_models: ReadModelStore) -> None:
    metrics = PipelineMetrics(read_models)
    for i in range(1000):
        metrics.incr("strategies", "paper", ts=1_000 + i)
        metrics.incr("risk", "paper", n=2, ts=5)
    metrics.incr("feed", None, n=7, ts=42)
    assert metrics.pending == 3

    assert await metrics.flush() == 3

    assert metrics.pending == 0
    assert await read_models.pipeline_metrics("paper") == {
        "risk": StageMetrics(2000, 5),
        "strategies": StageMetrics(1000, 1999),
    }
    assert await read_models.pipeline_metrics(None) == {"feed": StageMetrics(7, 42)}


async def test_a_flush_is_one_redis_transaction(redis_url: str) -> None:
    store = RedisReadModels(redis_url)
    metrics = PipelineMetrics(store)
    for stage in ("feed", "strategies", "risk", "execution", "portfolio"):
        metrics.incr(stage, "zerodha", n=100)
    before = await _transactions(redis_url)

    await metrics.flush()

    assert await _transactions(redis_url) == before + 1
    await store.close()


async def test_counts_add_up_across_flushes_and_keep_the_latest_time(
    read_models: ReadModelStore,
) -> None:
    metrics = PipelineMetrics(read_models)
    metrics.incr("execution", "paper", n=3, ts=1_700_000_000_000_000_500)
    await metrics.flush()
    metrics.incr("execution", "paper", n=4, ts=1_700_000_000_000_000_499)  # late and older
    await metrics.flush()

    assert await read_models.pipeline_metrics("paper") == {
        "execution": StageMetrics(7, 1_700_000_000_000_000_500)
    }


async def test_a_failed_flush_keeps_the_counts_for_the_next_one(tmp_path: Path) -> None:
    port = free_port()
    store = RedisReadModels(f"redis://127.0.0.1:{port}/0")
    metrics = PipelineMetrics(store)
    metrics.incr("risk", "paper", n=5, ts=10)
    with pytest.raises(redis.exceptions.ConnectionError):
        await metrics.flush()  # Redis is not up yet
    metrics.incr("risk", "paper", n=1, ts=11)

    server = await asyncio.create_subprocess_exec(
        shutil.which("redis-server") or "/usr/bin/redis-server",
        *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
        *("--dir", str(tmp_path)),
        stdout=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(10):
            while True:
                try:
                    await store.ping()
                    break
                except redis.exceptions.ConnectionError:
                    await asyncio.sleep(0.02)
        await metrics.flush()
        assert await store.pipeline_metrics("paper") == {"risk": StageMetrics(6, 11)}
    finally:
        await store.close()
        server.terminate()
        await server.wait()


async def test_flush_every_flushes_once_more_when_cancelled() -> None:
    store = MemoryReadModels()
    metrics = PipelineMetrics(store)
    task = asyncio.create_task(metrics.flush_every(3600))
    await asyncio.sleep(0)
    metrics.incr("portfolio", "paper", n=2, ts=1)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await store.pipeline_metrics("paper") == {"portfolio": StageMetrics(2, 1)}


def test_a_bad_stage_name_is_refused_when_counted() -> None:
    metrics = PipelineMetrics(MemoryReadModels())
    with pytest.raises(ValueError, match="pipeline stage"):
        metrics.incr("risk:x", "paper")
    with pytest.raises(ValueError, match="unknown broker"):
        metrics.incr("risk", "nse")
