"""The market feed in a process of its own, as `alpha-panda up --role feed` would run it.

`--feed-process` uses it to show how far the rest of the pipeline goes once the tick
source no longer shares its event loop (and core): the feed's tick generation, validation
and publishing are the largest single cost of the in-process pipeline.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from multiprocessing.process import BaseProcess

from actors.feed.actor import MarketFeed
from ops.bench.pacing import wait_until
from ops.commands.common import run_async
from supervisors.bus import Bus
from supervisors.runner import ActorProcess

__all__ = ["start_feed_process"]


def start_feed_process(url: str, rate_per_s: float, ticks: int, every: int) -> BaseProcess:
    """Spawn the feed (a fresh interpreter, so nothing of this process is shared)."""
    process = multiprocessing.get_context("spawn").Process(
        target=_main, args=(url, rate_per_s, ticks, every), name="bench-feed", daemon=True
    )
    process.start()
    return process


def _main(url: str, rate_per_s: float, ticks: int, every: int) -> None:
    run_async(_feed(url, rate_per_s, ticks, every))


async def _feed(url: str, rate_per_s: float, ticks: int, every: int) -> None:
    from ops.bench.pipeline_phase import bench_domain  # the same configuration, same seed

    domain = bench_domain(rate_per_s, ticks, every)
    bus = await Bus.connect(url, name="bench-feed")
    feed = MarketFeed(domain.feed, domain.book)
    process = ActorProcess(feed, bus)
    task = asyncio.create_task(process.run(lambda: None), name="bench-feed")
    try:
        await wait_until(lambda: feed.done or task.done(), ticks / rate_per_s + 60)
    finally:
        process.request_stop()
        await task
        await bus.close()
