from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from supervisors.supervisor import Supervisor, SupervisorSpec


@pytest.fixture
async def running() -> AsyncIterator[Callable[[SupervisorSpec], object]]:
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

    yield start  # type: ignore[misc]
    for sup, task in started:
        sup.request_stop()
        await asyncio.wait({task}, timeout=5)
        if not task.done():
            task.cancel()
        elif not task.cancelled():
            task.exception()  # retrieved: a test that expected it asserted on it already
