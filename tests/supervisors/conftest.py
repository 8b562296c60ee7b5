from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ops.bootstrap import bootstrap_streams
from supervisors.bus import Bus, StreamSettings
from supervisors.supervisor import Supervisor, SupervisorSpec
from tests.conftest import unique
from tests.supervisors.fakes import Running


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    """Start supervisors in the background; stop them (and check they ended) after the test."""
    started: list[tuple[Supervisor, asyncio.Task[None]]] = []

    async def start(spec: SupervisorSpec) -> tuple[Supervisor, asyncio.Task[None]]:
        sup = Supervisor(spec)
        ready = asyncio.Event()
        task = asyncio.create_task(sup.run(ready.set))
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait({task, waiter}, timeout=5, return_when="FIRST_COMPLETED")
        waiter.cancel()
        started.append((sup, task))
        return sup, task

    yield start
    for sup, task in started:
        sup.request_stop()
        await asyncio.wait({task}, timeout=5)
        if not task.done():
            task.cancel()
        elif not task.cancelled():
            task.exception()  # retrieved: a test that expected it asserted on it already


@pytest.fixture
async def stream(bus: Bus) -> str:
    """A stream of the test's own (`<prefix>.>`), plus the shared streams (DLQ, ...)."""
    await bootstrap_streams(bus, "test")
    prefix = unique("t").lower()
    await bus.ensure_stream(StreamSettings(prefix.upper(), [f"{prefix}.>"], duplicate_window_s=600))
    return prefix
