"""Re-driving a dead-letter topic is gated by --confirm and recorded as an audit event."""

from __future__ import annotations

import json

import pytest

from bridge.errors import RedriveRefused
from bridge.replay.republish import ReplayRequest, operator_name, replay
from schemas.envelope import decode_as, encode, new_envelope
from schemas.events import AuditEvent, DeadLetter
from supervisors.bus import Bus
from tests.bridge.helpers import fill, make_streams, start_bridge, wait_for
from tests.conftest import NatsServer


async def test_a_dlq_topic_is_re_driven_only_with_confirm_and_the_re_drive_is_audited(
    fresh_nats: NatsServer, tansu: str
) -> None:
    bus = await Bus.connect(fresh_nats.url)
    await make_streams(bus)
    subject, original = fill(1)
    letter = DeadLetter(
        original_subject=subject, error="ledger down", error_type="ConnectionError",
        actor="portfolio", attempts=5, headers={"Nats-Msg-Id": original.id, "Alpha-Type": "order.filled"},
        payload=encode(original).decode(), stream_seq=1,
    )  # fmt: skip
    await bus.publish("dlq." + subject, new_envelope(letter, source="portfolio", broker="paper"))
    process, task = await start_bridge(bus, tansu, streams=("DLQ",))
    await wait_for(lambda: process.figures["DLQ"].mirrored == 1)
    process.request_stop()
    await task
    request = ReplayRequest(topic="paper.orders.filled.dlq")
    with pytest.raises(RedriveRefused, match="--confirm"):
        await replay(bus, tansu, request, progress=False)
    dry = await replay(bus, tansu, ReplayRequest(topic=request.topic, dry_run=True), progress=False)
    assert dry.matched == 1 and await bus.stream_last_seq("PAPER") == 0
    done = await replay(
        bus, tansu, ReplayRequest(topic=request.topic, confirm=True), progress=False
    )
    assert (done.mode, done.published) == ("redrive", 1)
    msg = await bus.js.get_msg("PAPER", 1)
    assert msg.subject == subject and msg.data == encode(original)
    assert (msg.headers or {})["Nats-Msg-Id"].startswith("redrive:paper.orders.filled.dlq:0:")
    raw = [(await bus.js.get_msg("AUDIT", s)).data or b"" for s in (1, 2)]
    audits = [decode_as(r, AuditEvent) for r in raw]
    assert [a.data.detail["state"] for a in audits] == ["started", "completed"]
    assert all(a.data.kind == "redrive" and a.data.actor == operator_name() for a in audits)
    assert audits[1].data.detail["published"] == "1"
    assert json.loads(encode(audits[0]))["data"]["detail"]["topic"] == "paper.orders.filled.dlq"
    again = await replay(
        bus, tansu, ReplayRequest(topic=request.topic, confirm=True), progress=False
    )
    assert (again.published, again.duplicates) == (0, 1), "a second re-drive is deduplicated"
    await bus.close()
