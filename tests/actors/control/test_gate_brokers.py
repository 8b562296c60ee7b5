"""The gate refuses a command for a broker the system does not run, naming the ones it does,
instead of storing a halt that nobody will act on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from actors.control.gate import ControlGate
from ops.bootstrap import bootstrap_streams
from ops.commands.control import send_control
from ops.nats_access import NatsTarget
from schemas.names import ControlVerb
from supervisors.bus import Bus
from supervisors.nats_auth import NatsAuth
from supervisors.runner import ActorProcess
from tests.conftest import NatsServer

TOKEN = "the-systems-token-0123456789"


@pytest.fixture
async def paper_only(fresh_nats: NatsServer) -> AsyncIterator[NatsTarget]:
    bus = await Bus.connect(fresh_nats.url, name="test:gate")
    await bootstrap_streams(bus, "test")
    process = ActorProcess(ControlGate(TOKEN, brokers=("paper",)), bus)
    ready = asyncio.Event()
    task = asyncio.create_task(process.run(ready.set))
    async with asyncio.timeout(10):
        await ready.wait()
    yield NatsTarget(fresh_nats.url, NatsAuth())
    process.request_stop()
    await task
    await bus.close()


async def test_a_halt_of_a_broker_not_running_is_refused_with_the_running_ones_named(
    paper_only: NatsTarget,
) -> None:
    result = await send_control(paper_only, TOKEN, ControlVerb.HALT, "zerodha", "", "asha")
    assert result == {
        "ok": False,
        "error": "broker zerodha is not running in this system (running: paper); nothing to halt",
    }


async def test_a_halt_of_a_running_broker_or_of_all_is_stored(paper_only: NatsTarget) -> None:
    one = await send_control(paper_only, TOKEN, ControlVerb.HALT, "paper", "", "asha")
    every = await send_control(paper_only, TOKEN, ControlVerb.RESUME, None, "", "asha")
    assert one["ok"] and one["subject"] == "control.halt.paper"
    assert every["ok"] and every["subject"] == "control.resume"
