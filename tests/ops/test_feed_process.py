"""ops.feed_process: the feed's child process reports its tree, and fails its slot (so its
supervisor restarts it) when it exits unasked."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from actors.feed.actor import FeedConfig
from actors.instruments import InstrumentBook
from ops.bootstrap import bootstrap_streams
from ops.feed_process import FeedProcess, FeedProcessExited, FeedProcessSpec
from supervisors.bus import Bus
from tests.conftest import NatsServer


async def _poll(check: Callable[[], bool], timeout_s: float = 30) -> None:
    """Poll until `check()` holds (a generous deadline: the child is a fresh interpreter)."""
    async with asyncio.timeout(timeout_s):
        while not check():
            await asyncio.sleep(0.05)


@pytest.mark.timeout(90)
async def test_a_feed_process_killed_from_outside_fails_its_slot_naming_the_exit(
    fresh_nats: NatsServer, tmp_path: Path
) -> None:
    bus = await Bus.connect(fresh_nats.url)
    try:
        await bootstrap_streams(bus, "test")
    finally:
        await bus.close()
    spec = FeedProcessSpec(
        url=fresh_nats.url,
        data_dir=str(tmp_path / "var"),
        feed=FeedConfig(rate_per_s=200),
        instruments=list(InstrumentBook.default())[:2],
    )
    child = FeedProcess(spec)
    ready = asyncio.Event()
    task = asyncio.create_task(child.run(ready.set))
    try:
        await _poll(lambda: ready.is_set() or task.done())  # the child's ready report
        assert not task.done(), task
        await _poll(
            lambda: any(n.figures.get("ticks_per_s") for n in child.status().children)
        )  # the child's feed figures, through its reports
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)  # not asked to stop
        with pytest.raises(FeedProcessExited) as info:
            await task
        assert info.value.code == -signal.SIGKILL
        assert child.status().figures["exit_code"] == -signal.SIGKILL
    finally:
        child.request_stop()
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
