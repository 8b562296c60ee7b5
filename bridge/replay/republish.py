"""`alpha-panda bridge replay`: republish a topic's records into NATS.

Each record goes back to its original subject (or `--to-subject`) with its original
`Nats-Msg-Id`, so JetStream's duplicate window drops what the stream still remembers and a
replay never doubles a recent message. A `.dlq` topic is *re-driven*: each dead letter's
original payload goes back to its original subject, after an explicit `--confirm`, and the
re-drive is recorded on `audit.redrive` (who, when, what) before the first letter is sent.
A letter whose payload was too large for Kafka carries none (`PAYLOAD_OMITTED`); it is
counted as `omitted` and not re-driven: its message is still in JetStream at the sequence
the letter names.
"""

from __future__ import annotations

import asyncio
import base64
import getpass
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bridge.errors import RedriveRefused, ReplayError
from bridge.governance.codec import AvroDecoder
from bridge.governance.registry import RegistryClient
from bridge.governance.wire import is_wire_format
from bridge.mirror.records import (
    H_ID,
    H_MSG_ID,
    H_SUBJECT,
    H_TRACEPARENT,
    H_TYPE,
    PAYLOAD_OMITTED,
)
from bridge.replay.progress import Progress
from bridge.replay.source import new_reader, parse_time_ms, plan_range, read_range
from schemas.avro import DLQ_SUFFIX
from schemas.envelope import HDR_MSG_ID, HDR_TRACEPARENT, HDR_TYPE, decode_as, new_envelope
from schemas.events import AuditEvent, DeadLetter
from schemas.names import audit_subject, subject_for_topic
from supervisors.bus import Bus

__all__ = ["ReplayRequest", "ReplaySummary", "replay", "subject_of", "operator_name"]

_WINDOW = 500


@dataclass(frozen=True)
class ReplayRequest:
    topic: str
    from_offset: int | None = None
    to_offset: int | None = None
    from_time: str | None = None
    to_time: str | None = None
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    to_subject: str | None = None
    dry_run: bool = False
    confirm: bool = False

    @property
    def redrive(self) -> bool:
        return self.topic.endswith(DLQ_SUFFIX)


@dataclass
class ReplaySummary:
    topic: str
    mode: str
    read: int = 0
    matched: int = 0
    published: int = 0
    duplicates: int = 0
    omitted: int = 0  # dead letters without a payload to re-drive (too large for Kafka)
    by_type: dict[str, int] = field(default_factory=dict)
    subjects: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    audit_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "rate_per_s": round(self.read / self.seconds, 1) if self.seconds else 0,
        }


def operator_name() -> str:
    """Who runs this: ALPHA_PANDA_OPERATOR, else the login name, with the host."""
    who = os.environ.get("ALPHA_PANDA_OPERATOR") or getpass.getuser()
    return f"{who}@{socket.gethostname()}"


def subject_of(topic: str, headers: dict[str, bytes], key: bytes | None) -> str:
    """The NATS subject a record came from: its `nats-subject` header, else from the name."""
    if H_SUBJECT in headers:
        return headers[H_SUBJECT].decode()
    subject = subject_for_topic(topic, key.decode() if key else "")
    if subject is not None:
        return subject
    raise ReplayError(f"cannot tell the subject of a record of {topic!r}; pass --to-subject")


def _matches(
    filters: dict[str, tuple[str, ...]], headers: dict[str, bytes], key: bytes | None
) -> bool:
    for name, wanted in filters.items():
        value = key if name == "key" else headers.get(name)
        if value is None or value.decode() not in wanted:
            return False
    return True


async def replay(
    bus: Bus,
    bootstrap_servers: str,
    request: ReplayRequest,
    *,
    registry_url: str | None = None,
    progress: bool = True,
) -> ReplaySummary:
    if request.redrive and not (request.confirm or request.dry_run):
        raise RedriveRefused(request.topic)
    mode = "dry-run" if request.dry_run else ("redrive" if request.redrive else "replay")
    summary = ReplaySummary(request.topic, mode)
    decoder = AvroDecoder(RegistryClient(registry_url)) if registry_url else None
    consumer = new_reader(bootstrap_servers)
    started = time.monotonic()
    await consumer.start()
    try:
        await consumer.topics()  # loads the cluster metadata partitions_for_topic reads
        rng = await plan_range(
            consumer, request.topic,
            from_offset=request.from_offset, to_offset=request.to_offset,
            from_time_ms=parse_time_ms(request.from_time) if request.from_time else None,
            to_time_ms=parse_time_ms(request.to_time) if request.to_time else None,
        )  # fmt: skip
        if mode == "redrive":
            summary.audit_id = await _audit(bus, request, "started", summary)
        bar = Progress(f"{mode} {request.topic}", rng.estimate, enabled=progress)
        pending: list[asyncio.Future[Any]] = []
        async for record in read_range(consumer, rng):
            summary.read += 1
            bar.update()
            headers = dict(record.headers or ())
            if not _matches(request.filters, headers, record.key):
                continue
            prepared = await _prepare(request, record, headers, decoder)
            if prepared is None:
                summary.omitted += 1
                continue
            subject, payload, nats_headers, type_name = prepared
            summary.matched += 1
            summary.by_type[type_name] = summary.by_type.get(type_name, 0) + 1
            summary.subjects[subject] = summary.subjects.get(subject, 0) + 1
            if request.dry_run:
                continue
            pending.append(await bus.publish_pipelined(subject, payload, nats_headers))
            if len(pending) >= _WINDOW:
                await _settle(pending, summary)
        await _settle(pending, summary)
        bar.close()
    finally:
        await consumer.stop()
    summary.seconds = round(time.monotonic() - started, 3)
    if mode == "redrive":
        await _audit(bus, request, "completed", summary)
    return summary


async def _prepare(
    request: ReplayRequest, record: Any, headers: dict[str, bytes], decoder: AvroDecoder | None
) -> tuple[str, bytes, dict[str, str], str] | None:
    """Subject, payload, headers and type to republish; None for a letter without payload."""
    value: bytes = record.value or b""
    if is_wire_format(value):
        if decoder is None:
            raise ReplayError(
                "the topic holds Avro records: set SCHEMA_REGISTRY_URL to decode them"
            )
        value = await decoder.to_json(value)
    type_name = headers.get(H_TYPE, b"?").decode()
    if request.redrive:
        letter = decode_as(value, DeadLetter).data
        if letter.payload_encoding == PAYLOAD_OMITTED:
            return None
        if letter.payload_encoding == "base64":
            payload = base64.b64decode(letter.payload)
        else:
            payload = letter.payload.encode()
        nats_headers = {k: v for k, v in letter.headers.items() if k != HDR_MSG_ID}
        nats_headers[HDR_MSG_ID] = f"redrive:{record.topic}:{record.partition}:{record.offset}"
        subject = request.to_subject or letter.original_subject
        return subject, payload, nats_headers, nats_headers.get(HDR_TYPE, type_name)
    msg_id = (headers.get(H_MSG_ID) or headers.get(H_ID) or b"").decode()
    nats_headers = {HDR_TYPE: type_name}
    if msg_id:
        nats_headers[HDR_MSG_ID] = msg_id
    if H_TRACEPARENT in headers:
        nats_headers[HDR_TRACEPARENT] = headers[H_TRACEPARENT].decode()
    subject = request.to_subject or subject_of(request.topic, headers, record.key)
    return subject, value, nats_headers, type_name


async def _settle(pending: list[asyncio.Future[Any]], summary: ReplaySummary) -> None:
    if not pending:
        return
    acks = await asyncio.gather(*pending)
    pending.clear()
    for ack in acks:
        if getattr(ack, "duplicate", False):
            summary.duplicates += 1
        else:
            summary.published += 1


async def _audit(bus: Bus, request: ReplayRequest, state: str, summary: ReplaySummary) -> str:
    """Record a re-drive on `audit.redrive`; a failure here stops the re-drive."""
    detail = {
        "state": state,
        "topic": request.topic,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "offsets": f"{request.from_offset}..{request.to_offset}",
        "times": f"{request.from_time}..{request.to_time}",
        "filters": ";".join(f"{k}={','.join(v)}" for k, v in request.filters.items()),
        "to_subject": request.to_subject or "",
    }
    if state == "completed":
        detail.update(
            read=str(summary.read), published=str(summary.published),
            duplicates=str(summary.duplicates), started_by=summary.audit_id or "",
        )  # fmt: skip
    event = AuditEvent(kind="redrive", actor=operator_name(), detail=detail)
    env = new_envelope(event, source="bridge.replay", key=request.topic)
    await bus.publish(audit_subject("redrive"), env)
    return env.id
