"""From a JetStream message to the Kafka record it becomes (pure apart from the codec).

Subject → (topic, key) follows DESIGN's naming table (`schemas.names.topic_for_subject`).
The body is validated against the topic's event type; a message that does not validate
becomes a `DeadLetter` on the topic's `.dlq` twin, carrying the reason. The mapping is a
function of the message alone (and the configured size limit), so a redelivered message
always maps to the same topic and partition: the resume rule depends on that.

A record larger than its producer's `max_request_bytes` can never be produced (aiokafka
and the broker refuse it: MessageSizeTooLargeError, MESSAGE_TOO_LARGE), and retrying would
block its partition for good. It becomes a dead letter on the `.dlq` twin instead, without
the payload (which is what does not fit; the message stays in its JetStream stream at the
sequence the letter names). Deciding this here, as the message is mapped, keeps the `.dlq`
partition in sequence order like every other partition.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from aiokafka.record.default_records import DefaultRecordBatchBuilder

from bridge.governance.codec import ValueCodec
from schemas.avro import DLQ_SUFFIX, event_type_for_topic
from schemas.envelope import (
    HDR_MSG_ID,
    HDR_TRACEPARENT,
    HDR_TYPE,
    Envelope,
    decode,
    decode_as,
    new_envelope,
)
from schemas.errors import DecodeError
from schemas.events import DeadLetter, event_class
from schemas.names import UNROUTABLE_TOPIC, topic_for_subject

__all__ = [
    "OutRecord",
    "RecordBuilder",
    "H_ID",
    "H_TYPE",
    "H_TRACEPARENT",
    "H_STREAM",
    "H_SEQ",
    "H_SUBJECT",
    "H_MSG_ID",
    "H_CONTENT_TYPE",
    "H_DLQ_REASON",
    "PAYLOAD_OMITTED",
    "record_size",
]

H_ID: Final = "id"
H_TYPE: Final = "type"
H_TRACEPARENT: Final = "traceparent"
H_STREAM: Final = "nats-stream"
H_SEQ: Final = "nats-seq"
H_SUBJECT: Final = "nats-subject"
H_MSG_ID: Final = "nats-msg-id"
H_CONTENT_TYPE: Final = "content-type"
H_DLQ_REASON: Final = "dlq-reason"
PAYLOAD_OMITTED: Final = "omitted"  # a DeadLetter's payload_encoding when it did not fit
_REASON_MAX: Final = 2000


@dataclass(frozen=True, slots=True)
class OutRecord:
    """A record ready to produce; `partition_key` decides the partition (key, else subject)."""

    topic: str
    partition_key: bytes
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    dead_letter: bool = False


def record_size(record: OutRecord) -> int:
    """The size aiokafka compares with `max_request_size` (a batch holding only this record)."""
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(record.key, record.value,
                                                                record.headers))  # fmt: skip


class RecordBuilder:
    """Maps, validates and encodes; one per bridge (it caches the codec's per-topic state).

    `limit_bytes(topic)` is the largest record the topic's producer sends (None: no limit).
    """

    def __init__(
        self, codec: ValueCodec, *, limit_bytes: Callable[[str], int] | None = None
    ) -> None:
        self.codec = codec
        self._limit_bytes = limit_bytes
        self._ready: set[str] = set()

    async def build(
        self, stream: str, subject: str, seq: int, raw: bytes, nats_headers: dict[str, str]
    ) -> OutRecord:
        record = await self._build(stream, subject, seq, raw, nats_headers)
        if self._limit_bytes is None:
            return record
        limit, size = self._limit_bytes(record.topic), record_size(record)
        if size <= limit:
            return record
        reason = (
            f"the record is {size} bytes, over the {limit}-byte max_request_bytes of "
            f"{record.topic} (MessageSizeTooLargeError), so Kafka can never take it; the "
            f"message stays in JetStream stream {stream} at sequence {seq}"
        )
        if record.dead_letter:
            reason = f"{dict(record.headers)[H_DLQ_REASON].decode()}; and {reason}"
        return await self._dead(
            record.topic, subject, stream, seq, raw, nats_headers, "RecordTooLarge", reason,
            record.partition_key, omit_payload=True,
        )  # fmt: skip

    async def _build(
        self, stream: str, subject: str, seq: int, raw: bytes, nats_headers: dict[str, str]
    ) -> OutRecord:
        try:
            topic, subject_key = topic_for_subject(subject)
        except ValueError:
            return await self._dead(
                UNROUTABLE_TOPIC, subject, stream, seq, raw, nats_headers, "Unroutable",
                f"no Kafka topic for subject {subject!r}", subject.encode(),
            )  # fmt: skip
        expected = event_type_for_topic(topic)
        try:
            if expected is not None:
                env: Envelope[Any] = decode_as(raw, event_class(expected))
            else:
                env = decode(raw, nats_headers.get(HDR_TYPE))
        except DecodeError as exc:
            return await self._dead(
                topic, subject, stream, seq, raw, nats_headers, "DecodeError", str(exc),
                (subject_key or subject).encode(),
            )  # fmt: skip
        key_text = subject_key or env.key
        key = key_text.encode() if key_text else None
        partition_key = key if key is not None else subject.encode()
        if topic not in self._ready:
            await self.codec.prepare(topic, env.type)
            self._ready.add(topic)
        try:
            value = self.codec.encode(topic, env, raw)
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            return await self._dead(
                topic, subject, stream, seq, raw, nats_headers, "SchemaError",
                f"does not fit the Avro schema of {topic}: {type(exc).__name__}: {exc}",
                partition_key,
            )  # fmt: skip
        headers = self._headers(env, stream, seq, subject, nats_headers)
        return OutRecord(topic, partition_key, key, value, headers)

    def _headers(
        self,
        env: Envelope[Any],
        stream: str,
        seq: int,
        subject: str,
        nats_headers: dict[str, str],
    ) -> list[tuple[str, bytes]]:
        headers = [
            (H_ID, env.id.encode()),
            (H_TYPE, env.type.encode()),
            (H_STREAM, stream.encode()),
            (H_SEQ, str(seq).encode()),
            (H_SUBJECT, subject.encode()),
            (H_CONTENT_TYPE, self.codec.content_type.encode()),
        ]
        trace = env.trace or nats_headers.get(HDR_TRACEPARENT, "")
        if trace:
            headers.append((H_TRACEPARENT, trace.encode()))
        msg_id = nats_headers.get(HDR_MSG_ID)
        if msg_id:
            headers.append((H_MSG_ID, msg_id.encode()))
        return headers

    async def _dead(
        self,
        topic: str,
        subject: str,
        stream: str,
        seq: int,
        raw: bytes,
        nats_headers: dict[str, str],
        error_type: str,
        reason: str,
        partition_key: bytes,
        *,
        omit_payload: bool = False,
    ) -> OutRecord:
        dlq_topic = topic if topic.endswith(DLQ_SUFFIX) else topic + DLQ_SUFFIX
        if omit_payload:
            payload, encoding = "", PAYLOAD_OMITTED
        else:
            try:
                payload, encoding = raw.decode("utf-8"), "utf-8"
            except UnicodeDecodeError:
                payload, encoding = base64.b64encode(raw).decode(), "base64"
        letter = DeadLetter(
            original_subject=subject,
            error=reason[:_REASON_MAX],
            error_type=error_type,
            actor="bridge",
            attempts=1,
            headers=dict(nats_headers),
            payload=payload,
            payload_encoding=encoding,
            stream_seq=seq,
        )
        env = new_envelope(letter, source="bridge", key=subject)
        if dlq_topic not in self._ready:
            await self.codec.prepare(dlq_topic, env.type)
            self._ready.add(dlq_topic)
        value = self.codec.encode(dlq_topic, env, None)
        headers = self._headers(env, stream, seq, subject, nats_headers)
        headers.append((H_DLQ_REASON, reason[:_REASON_MAX].encode()))
        return OutRecord(dlq_topic, partition_key, partition_key, value, headers, True)
