"""The bridge inside the boundary: `bridge run` mirrors as the bridge user, and `bridge
replay` publishes as the control user, only with the running gate's consent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from actors.control.gate import ControlGate
from bridge.replay.republish import ReplayRequest
from ops.bootstrap import bootstrap_streams
from ops.errors import ControlRefused
from ops.replay_consent import connect_for_replay
from ops.settings import Settings, load_settings
from schemas.envelope import decode_as
from schemas.errors import ConfigError
from schemas.events import AuditEvent
from schemas.names import audit_subject
from schemas.permissions import OPERATOR
from supervisors.bus import Bus
from supervisors.nats_auth import UserStore
from supervisors.runner import ActorProcess
from tests.conftest import NatsServer

TOKEN = "the-systems-token-0123456789"


@pytest.fixture
async def system(guarded_server: tuple[NatsServer, UserStore]) -> AsyncIterator[Bus]:
    """The streams and a control gate running as the control user; yields the operator."""
    server, store = guarded_server
    operator = await Bus.connect(server.url, auth=store.auth_for(OPERATOR))
    await bootstrap_streams(operator, "test")
    control = await Bus.connect(server.url, auth=store.auth_for("control"))
    process = ActorProcess(ControlGate(TOKEN), control)
    ready = asyncio.Event()
    task = asyncio.create_task(process.run(ready.set))
    async with asyncio.timeout(10):
        await ready.wait()
    yield operator
    process.request_stop()
    await task
    await control.close()
    await operator.close()


def _settings(server: NatsServer, store: UserStore, token: str | None) -> Settings:
    password = store.auth_for("control").password
    assert password is not None
    return load_settings(
        nats_url=server.url, nats_user="control", nats_password=password.reveal(),
        api_token=token, env="test",
    )  # fmt: skip


async def _redrives(operator: Bus) -> list[AuditEvent]:
    if not await operator.stream_last_seq("AUDIT"):
        return []
    return [
        decode_as(m.data, AuditEvent).data
        async for m in operator.replay("AUDIT", [audit_subject("redrive")], 1)
    ]


async def test_a_re_drive_connects_as_control_after_the_gate_recorded_who_and_what(
    system: Bus, guarded_server: tuple[NatsServer, UserStore]
) -> None:
    settings = _settings(*guarded_server, TOKEN)
    request = ReplayRequest(topic="paper.signals.raw.dlq", from_offset=2, confirm=True)
    bus = await connect_for_replay(settings, request, "asha@desk")
    try:
        assert bus.security.user == "control"
        await bus.js.publish("paper.signals.raw", b"{}")  # the re-drive's target: allowed
        assert bus.security.violations == 0
    finally:
        await bus.close()
    [grant] = await _redrives(system)
    assert grant.actor == "asha@desk" and grant.detail["action"] == "redrive"
    assert grant.detail["topic"] == "paper.signals.raw.dlq"
    assert grant.detail["offsets"] == "2..None"


async def test_a_replay_with_a_wrong_token_or_none_does_not_connect_to_publish(
    system: Bus, guarded_server: tuple[NatsServer, UserStore]
) -> None:
    request = ReplayRequest(topic="market.ticks")
    with pytest.raises(ControlRefused, match="wrong token"):
        await connect_for_replay(_settings(*guarded_server, "not-the-token"), request, "mallory")
    with pytest.raises(ConfigError, match="ALPHA_PANDA_API_TOKEN"):
        await connect_for_replay(_settings(*guarded_server, None), request, "mallory")
    assert await _redrives(system) == []


async def test_a_dry_run_needs_no_token(
    system: Bus, guarded_server: tuple[NatsServer, UserStore]
) -> None:
    bus = await connect_for_replay(
        _settings(*guarded_server, None), ReplayRequest(topic="market.ticks", dry_run=True), "asha"
    )
    await bus.close()
    assert await _redrives(system) == []


async def test_the_bridge_mirrors_every_stream_as_its_own_user_without_a_violation(
    system: Bus, guarded_server: tuple[NatsServer, UserStore], tansu: str
) -> None:
    from tests.bridge.helpers import start_bridge, wait_for

    server, store = guarded_server
    for n in range(3):
        await system.js.publish("paper.signals.raw", f'{{"n": {n}}}'.encode())
    bridge = await Bus.connect(server.url, auth=store.auth_for("bridge"))
    try:
        process, task = await start_bridge(bridge, tansu)
        await wait_for(lambda: process.figures["PAPER"].mirrored_seq >= 3, what="PAPER mirrored")
        process.request_stop()
        await task
        assert bridge.security.violations == 0, bridge.security.last
    finally:
        await bridge.close()


async def test_bridge_replay_from_the_cli_publishes_into_a_running_system_only_with_its_token(
    tmp_path: Path, fresh_nats: NatsServer, tansu: str
) -> None:
    import json

    from ops.nats_access import nats_target
    from tests.bridge.helpers import make_streams, publish_many, start_bridge, tick, wait_for
    from tests.e2e.conftest import eventually, run_cli, up_embedded

    source = await Bus.connect(fresh_nats.url)  # a day recorded elsewhere, mirrored to Kafka
    await make_streams(source)
    await publish_many(source, [tick(t % 3 + 1) for t in range(12)])
    process, task = await start_bridge(source, tansu, streams=("MARKET",))
    await wait_for(lambda: process.figures["MARKET"].mirrored == 12)
    process.request_stop()
    await task
    await source.close()

    app = up_embedded(tmp_path, duration_s=60)
    try:

        async def answering() -> bool:
            return (await asyncio.to_thread(run_cli, tmp_path, "status")).returncode == 0

        await eventually(answering, "the running system", app=app)
        replay_args = ("bridge", "replay", "--topic", "market.ticks", "--json", "--no-progress")
        kafka = {"KAFKA_BOOTSTRAP_SERVERS": tansu, "ALPHA_PANDA_OPERATOR": "asha"}
        wrong = await asyncio.to_thread(
            lambda: run_cli(
                tmp_path, *replay_args, env={**kafka, "ALPHA_PANDA_API_TOKEN": "not-the-token"}
            )
        )
        assert wrong.returncode == 1 and "wrong token" in wrong.stderr, wrong.stderr
        done = await asyncio.to_thread(lambda: run_cli(tmp_path, *replay_args, env=kafka))
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout.splitlines()[-1])["published"] == 12
        operator = await nats_target(
            load_settings(data_dir=tmp_path / "var", nats_url=None)
        ).connect("test:operator")
        try:
            grants = await _redrives(operator)
            replayed = await operator.replay("MARKET", ["market.ticks.1"], 1).__anext__()
        finally:
            await operator.close()
        assert [(g.actor.split("@")[0], g.detail["action"]) for g in grants] == [("asha", "replay")]
        assert replayed.subject == "market.ticks.1"
    finally:
        app.kill()
