"""Dead letters from the DLQ stream: listed, shown, and re-driven once, with consent, as the
control user of an authenticated server (no Kafka involved)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from actors.control.gate import ControlGate
from ops.bootstrap import bootstrap_streams
from ops.dlq import (
    DeadLetterNotFound,
    RedriveOutcome,
    list_dead_letters,
    redrive,
    redrive_msg_id,
    show_dead_letter,
)
from ops.errors import ControlRefused
from schemas.envelope import HDR_MSG_ID, decode_as, encode, new_envelope
from schemas.errors import ConfigError
from schemas.events import AuditEvent, DeadLetter, Heartbeat
from schemas.names import PAPER_STREAM, audit_subject, dlq_subject
from schemas.permissions import OPERATOR
from supervisors.bus import Bus
from supervisors.nats_auth import UserStore
from supervisors.runner import ActorProcess
from tests.conftest import NatsServer

TOKEN = "the-systems-token-0123456789"
RAW = "paper.signals.raw"


@pytest.fixture
async def system(guarded_server: tuple[NatsServer, UserStore]) -> AsyncIterator[tuple[Bus, Bus]]:
    """The streams, a control gate running as the control user; yields (operator, control)."""
    server, store = guarded_server
    operator = await Bus.connect(server.url, auth=store.auth_for(OPERATOR))
    await bootstrap_streams(operator, "test")
    gate_bus = await Bus.connect(server.url, auth=store.auth_for("control"))
    process = ActorProcess(ControlGate(TOKEN), gate_bus)
    ready = asyncio.Event()
    task = asyncio.create_task(process.run(ready.set))
    async with asyncio.timeout(10):
        await ready.wait()
    control = await Bus.connect(server.url, auth=store.auth_for("control"))
    yield operator, control
    await control.close()
    process.request_stop()
    await task
    await gate_bus.close()
    await operator.close()


async def _dead_letter(bus: Bus, subject: str, n: int, error: str = "boom") -> int:
    """Store one letter the way the runtime does (`Handling.dead_letter`); its DLQ seq."""
    original = new_envelope(Heartbeat(seq=n), source="test", broker="paper")
    letter = DeadLetter(
        original_subject=subject, error=error, error_type="ValueError", actor="risk-paper",
        attempts=3, headers={HDR_MSG_ID: original.id, "Alpha-Type": original.type},
        payload=encode(original).decode(), stream_seq=100 + n,
    )  # fmt: skip
    env = new_envelope(letter, source="risk-paper", broker="paper", key=subject)
    return await bus.publish(dlq_subject(subject), env, msg_id=f"dlq:{subject}:{100 + n}")


async def _audits(bus: Bus) -> list[AuditEvent]:
    if not await bus.stream_last_seq("AUDIT"):
        return []
    return [
        decode_as(m.data, AuditEvent).data
        async for m in bus.replay("AUDIT", [audit_subject("redrive")], 1)
    ]


async def _paper_messages(bus: Bus) -> list[bytes]:
    if not await bus.stream_last_seq(PAPER_STREAM.name):
        return []
    return [m.data async for m in bus.replay(PAPER_STREAM.name, [RAW], 1)]


async def test_list_shows_seq_time_subject_error_and_attempts_newest_last(
    system: tuple[Bus, Bus],
) -> None:
    operator, _ = system
    first = await _dead_letter(operator, RAW, 1, "no price")
    await _dead_letter(operator, "paper.orders.filled", 2)
    third = await _dead_letter(operator, RAW, 3)
    entries = await list_dead_letters(operator)
    assert [e.seq for e in entries] == [first, first + 1, third]
    e = entries[0]
    assert (e.subject, e.error_type, e.error, e.attempts, e.actor) == (
        RAW, "ValueError", "no price", 3, "risk-paper",
    )  # fmt: skip
    assert e.stored_at.tzinfo is not None and e.original_seq == 101
    assert [x.seq for x in await list_dead_letters(operator, subject=RAW)] == [first, third]
    assert [x.seq for x in await list_dead_letters(operator, subject="paper.>", limit=1)] == [third]
    assert await list_dead_letters(operator, subject="zerodha.>") == []


async def test_show_prints_the_message_and_its_error_and_names_a_missing_seq(
    system: tuple[Bus, Bus],
) -> None:
    operator, _ = system
    seq = await _dead_letter(operator, RAW, 7, "stale tick")
    entry = await show_dead_letter(operator, seq)
    assert entry.error == "stale tick"
    assert decode_as(entry.payload_bytes(), Heartbeat).data.seq == 7
    with pytest.raises(DeadLetterNotFound, match="dlq list"):
        await show_dead_letter(operator, seq + 50)


async def test_redrive_is_refused_without_a_token_or_with_a_wrong_one_and_sends_nothing(
    system: tuple[Bus, Bus],
) -> None:
    operator, control = system
    seq = await _dead_letter(operator, RAW, 1)
    with pytest.raises(ConfigError, match="ALPHA_PANDA_API_TOKEN"):
        await redrive(control, None, [seq], "mallory")
    with pytest.raises(ControlRefused, match="wrong token"):
        await redrive(control, "not-the-token", [seq], "mallory")
    assert await _paper_messages(operator) == []
    assert [e.seq for e in await list_dead_letters(operator)] == [seq]
    assert await _audits(operator) == []


async def test_redrive_republishes_to_the_original_subject_audited_and_never_twice(
    system: tuple[Bus, Bus],
) -> None:
    operator, control = system
    seq = await _dead_letter(operator, RAW, 5)
    kept = await _dead_letter(operator, RAW, 6)
    result = await redrive(control, TOKEN, [seq], "asha@desk", reason="fixed the parser")
    assert result.outcomes == {seq: RedriveOutcome.REDRIVEN}
    assert control.security.violations == 0
    [msg] = await _paper_messages(operator)
    assert decode_as(msg, Heartbeat).data.seq == 5
    assert [e.seq for e in await list_dead_letters(operator)] == [kept]

    again = await redrive(control, TOKEN, [seq], "asha@desk")
    assert again.outcomes == {seq: RedriveOutcome.MISSING}
    assert len(await _paper_messages(operator)) == 1

    consent, done, consent2, _ = await _audits(operator)
    assert consent.actor == "asha@desk" and consent.detail["action"] == "redrive"
    assert consent.detail["seqs"] == str(seq) and consent.detail["reason"] == "fixed the parser"
    assert done.detail["state"] == "completed" and done.detail["redriven"] == str(seq)
    assert done.detail["consent_id"] == result.audit_id
    assert consent2.detail["seqs"] == str(seq)


async def test_a_redrive_interrupted_before_the_delete_is_not_doubled_by_the_next_one(
    system: tuple[Bus, Bus],
) -> None:
    operator, control = system
    seq = await _dead_letter(operator, RAW, 9)
    letter = await show_dead_letter(operator, seq)
    # the first attempt published, then died before deleting the letter
    await operator.js.publish(
        RAW, letter.payload_bytes(), headers={HDR_MSG_ID: redrive_msg_id(seq)}
    )
    result = await redrive(control, TOKEN, [seq], "asha@desk")
    assert result.outcomes == {seq: RedriveOutcome.DUPLICATE}
    assert len(await _paper_messages(operator)) == 1
    assert await list_dead_letters(operator) == []


async def test_redrive_all_of_a_subject_leaves_the_others(system: tuple[Bus, Bus]) -> None:
    operator, control = system
    a = await _dead_letter(operator, RAW, 1)
    other = await _dead_letter(operator, "paper.orders.filled", 2)
    b = await _dead_letter(operator, RAW, 3)
    result = await redrive(control, TOKEN, None, "asha@desk", subject=RAW)
    assert result.outcomes == {a: RedriveOutcome.REDRIVEN, b: RedriveOutcome.REDRIVEN}
    assert [e.seq for e in await list_dead_letters(operator)] == [other]
    assert len(await _paper_messages(operator)) == 2
