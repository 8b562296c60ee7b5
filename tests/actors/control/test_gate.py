"""The control gate: token-checked control commands, and consent to replays and re-drives."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from actors.control.gate import AUTH_HEADER, ControlGate
from ops.bootstrap import bootstrap_streams
from ops.errors import ControlRefused
from ops.replay_consent import authorize_replay
from schemas.envelope import decode_as
from schemas.events import AuditEvent
from schemas.names import CONTROL_REQUEST_SUBJECT, ControlVerb, audit_subject, control_subject
from supervisors.bus import Bus
from supervisors.runner import ActorProcess
from tests.conftest import NatsServer

TOKEN = "the-systems-token-0123456789"


@pytest.fixture
async def gate_bus(fresh_nats: NatsServer) -> AsyncIterator[Bus]:
    """A bus with the streams and a running control gate on a server of its own."""
    bus = await Bus.connect(fresh_nats.url, name="test:gate")
    await bootstrap_streams(bus, "test")
    process = ActorProcess(ControlGate(TOKEN), bus)
    ready = asyncio.Event()
    task = asyncio.create_task(process.run(ready.set))
    async with asyncio.timeout(10):
        await ready.wait()
    yield bus
    process.request_stop()
    await task
    await bus.close()


async def _redrive_audits(bus: Bus) -> list[AuditEvent]:
    if not await bus.stream_last_seq("AUDIT"):
        return []
    return [
        decode_as(m.data, AuditEvent).data
        async for m in bus.replay("AUDIT", [audit_subject("redrive")], 1)
    ]


async def test_a_replay_with_the_token_is_granted_and_recorded_with_who_and_what(
    gate_bus: Bus,
) -> None:
    detail = {"topic": "paper.signals.raw.dlq", "from_offset": "3", "to_offset": "9"}
    audit_id = await authorize_replay(gate_bus, TOKEN, "redrive", "asha@desk", detail, "fixed")
    [event] = await _redrive_audits(gate_bus)
    assert event.kind == "redrive" and event.actor == "asha@desk"
    assert event.detail == {"action": "redrive", "reason": "fixed", **detail}
    assert audit_id


async def test_a_replay_with_a_wrong_token_is_refused_and_publishes_nothing(
    gate_bus: Bus,
) -> None:
    with pytest.raises(ControlRefused, match="wrong token"):
        await authorize_replay(gate_bus, "not-the-token", "replay", "mallory", {"topic": "x"})
    assert await _redrive_audits(gate_bus) == []


async def test_without_a_running_gate_a_replay_is_refused(fresh_nats: NatsServer) -> None:
    bus = await Bus.connect(fresh_nats.url, name="test:no-gate")
    try:
        with pytest.raises(ControlRefused, match="no control gate answered"):
            await authorize_replay(bus, TOKEN, "replay", "asha", {"topic": "x"})
    finally:
        await bus.close()


async def _ask(bus: Bus, body: dict[str, object], token: str = TOKEN) -> dict[str, object]:
    reply = await bus.nc.request(CONTROL_REQUEST_SUBJECT, json.dumps(body).encode(), timeout=5,
                                 headers={AUTH_HEADER: f"Bearer {token}"})  # fmt: skip
    answer: dict[str, object] = json.loads(reply.data)
    return answer


async def test_a_restart_names_one_actor_and_is_recorded_with_who_and_which(
    gate_bus: Bus,
) -> None:
    refused = await _ask(gate_bus, {"verb": "restart"})
    assert not refused["ok"] and "restart needs the actor's name" in str(refused["error"])
    refused = await _ask(gate_bus, {"verb": "halt", "actor": "risk-paper"})
    assert not refused["ok"] and "halt takes no actor" in str(refused["error"])
    refused = await _ask(gate_bus, {"verb": "restart", "actor": "risk-paper"}, token="wrong")
    assert not refused["ok"] and "wrong token" in str(refused["error"])
    ok = await _ask(gate_bus, {"verb": "restart", "actor": "risk-paper", "requested_by": "me"})
    assert ok["ok"] and ok["subject"] == control_subject(ControlVerb.RESTART)
    audits = [
        decode_as(m.data, AuditEvent).data
        async for m in gate_bus.replay("AUDIT", [audit_subject("control")], 1)
    ]
    assert [(a.actor, a.detail["verb"], a.detail["actor"]) for a in audits] == [
        ("me", "restart", "risk-paper")
    ]
    assert audits[0].detail["command_id"] == ok["id"]
