"""Dead letters from the `DLQ` stream itself: list, show, re-drive (no Kafka needed).

An actor that cannot handle an input stores it on `dlq.<original subject>` as a
`DeadLetter` (error, actor, attempts, original headers and payload). These functions read
them back and re-drive them: the original payload and headers go back to the original
subject, once the running control gate has checked the API token and recorded who and what
on `audit.redrive` (the same consent as `bridge replay`).

Nothing doubled: a re-driven letter is published with `Nats-Msg-Id = redrive:DLQ:<seq>`,
then deleted from `DLQ`. A second re-drive of the same sequence finds nothing to send; one
interrupted between the publish and the delete publishes the same id again, which the
target stream's duplicate window drops.

The command line (`alpha-panda dlq`) and the web pages call these plain async functions;
the `bus` they take must be allowed what they do (the operator's, or the control user's
for a re-drive, inside the trust boundary).
"""

from __future__ import annotations

import base64
import collections
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ops.replay_consent import authorize_replay
from schemas.envelope import HDR_MSG_ID, decode_as, new_envelope
from schemas.errors import ConfigError, DecodeError
from schemas.events import AuditEvent, DeadLetter
from schemas.names import DLQ_STREAM, audit_subject, dlq_subject
from supervisors.bus import Bus

__all__ = [
    "DeadLetterEntry",
    "DeadLetterNotFound",
    "RedriveOutcome",
    "RedriveResult",
    "list_dead_letters",
    "show_dead_letter",
    "redrive",
    "redrive_msg_id",
]

_STREAM = DLQ_STREAM.name
_PREFIX = dlq_subject("")  # "dlq."


class DeadLetterNotFound(ConfigError):
    """No dead letter at that DLQ sequence (never stored, or already re-driven)."""

    def __init__(self, seq: int) -> None:
        self.seq = seq
        super().__init__(
            f"no dead letter at DLQ sequence {seq} (already re-driven, or never stored): "
            "`alpha-panda dlq list` shows the sequences there are"
        )


@dataclass(frozen=True)
class DeadLetterEntry:
    """One dead letter as stored in `DLQ`: where it was (`seq`, `stored_at`) and what it is."""

    seq: int
    stored_at: datetime
    subject: str  # the original subject, where a re-drive sends it
    error_type: str
    error: str
    actor: str
    attempts: int
    broker: str | None = None
    original_seq: int = 0  # its sequence in the original stream (0: never stored there)
    headers: dict[str, str] = field(default_factory=dict)
    payload: str = ""
    payload_encoding: str = "utf-8"

    def payload_bytes(self) -> bytes:
        if self.payload_encoding == "base64":
            return base64.b64decode(self.payload)
        return self.payload.encode()

    def as_dict(self, *, with_payload: bool = True) -> dict[str, Any]:
        """JSON-ready; the payload is left out of listings (`with_payload=False`)."""
        out: dict[str, Any] = {
            "seq": self.seq,
            "stored_at": self.stored_at.isoformat(timespec="milliseconds"),
            "subject": self.subject,
            "error_type": self.error_type,
            "error": self.error,
            "actor": self.actor,
            "attempts": self.attempts,
            "broker": self.broker,
            "original_seq": self.original_seq,
        }
        if with_payload:
            out.update(
                headers=self.headers, payload=self.payload, payload_encoding=self.payload_encoding
            )
        return out


class RedriveOutcome:
    """What happened to one sequence of a re-drive."""

    REDRIVEN = "redriven"  # published to its original subject, removed from DLQ
    DUPLICATE = "duplicate"  # the target stream already held it (an interrupted re-drive)
    MISSING = "missing"  # no letter at that sequence: nothing sent


@dataclass
class RedriveResult:
    """A re-drive's figures: `outcomes` per DLQ sequence, and the consent's audit id."""

    audit_id: str
    outcomes: dict[int, str] = field(default_factory=dict)
    published_seqs: dict[int, int] = field(default_factory=dict)  # DLQ seq -> new seq there

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes.values() if o == outcome)

    def as_dict(self) -> dict[str, Any]:
        return {
            "audit_id": self.audit_id,
            "redriven": self.count(RedriveOutcome.REDRIVEN),
            "duplicates": self.count(RedriveOutcome.DUPLICATE),
            "missing": self.count(RedriveOutcome.MISSING),
            "outcomes": {str(k): v for k, v in self.outcomes.items()},
            "published_seqs": {str(k): v for k, v in self.published_seqs.items()},
        }


def redrive_msg_id(seq: int) -> str:
    """The `Nats-Msg-Id` a re-drive of DLQ sequence `seq` publishes with: the same every time."""
    return f"redrive:{_STREAM}:{seq}"


def _entry(seq: int, stored_at: datetime | None, data: bytes) -> DeadLetterEntry:
    env = decode_as(data, DeadLetter)
    letter = env.data
    return DeadLetterEntry(
        seq=seq,
        stored_at=stored_at or datetime.fromtimestamp(env.ts / 1e9, UTC),
        subject=letter.original_subject,
        error_type=letter.error_type,
        error=letter.error,
        actor=letter.actor,
        attempts=letter.attempts,
        broker=env.broker,
        original_seq=letter.stream_seq,
        headers=dict(letter.headers),
        payload=letter.payload,
        payload_encoding=letter.payload_encoding,
    )


def _filter(subject: str | None) -> str:
    """The DLQ subject filter of an original-subject filter (NATS wildcards allowed)."""
    if not subject:
        return DLQ_STREAM.subjects[0]
    if subject.startswith(_PREFIX):
        return subject
    return dlq_subject(subject)


async def _stream_has_letters(bus: Bus) -> bool:
    try:
        info = await bus.js.stream_info(_STREAM)
    except Exception as exc:
        raise ConfigError(
            f"no {_STREAM} stream on this server ({type(exc).__name__}): run "
            "`alpha-panda ops bootstrap` or start `alpha-panda up` once"
        ) from None
    return int(info.state.messages) > 0


async def list_dead_letters(
    bus: Bus, subject: str | None = None, limit: int = 50
) -> list[DeadLetterEntry]:
    """The newest `limit` dead letters (oldest first), of original subjects matching
    `subject` (exact, or with NATS wildcards such as `paper.>`); `limit` 0 means all."""
    if limit < 0:
        raise ConfigError(f"--limit must be >= 0 (0 = all), got {limit}")
    if not await _stream_has_letters(bus):
        return []
    kept: collections.deque[DeadLetterEntry] = collections.deque(maxlen=limit or None)
    async for msg in bus.replay(_STREAM, [_filter(subject)], 1):
        meta = msg.metadata
        try:
            kept.append(_entry(int(meta.sequence.stream), meta.timestamp, msg.data))
        except DecodeError:
            continue  # not a DeadLetter envelope (someone published by hand): not ours to list
    return list(kept)


async def show_dead_letter(bus: Bus, seq: int) -> DeadLetterEntry:
    """The dead letter at DLQ sequence `seq`, payload included; `DeadLetterNotFound` else."""
    raw = await _get(bus, seq)
    if raw is None:
        raise DeadLetterNotFound(seq)
    return raw


async def _get(bus: Bus, seq: int) -> DeadLetterEntry | None:
    try:
        msg = await bus.js.get_msg(_STREAM, seq)
    except Exception:  # not found, deleted, or beyond the stream
        return None
    if not msg.data or not (msg.subject or "").startswith(_PREFIX):
        return None
    try:
        return _entry(seq, msg.time, msg.data)
    except DecodeError:
        return None


async def redrive(
    bus: Bus,
    token: str | None,
    seqs: Sequence[int] | None,
    requested_by: str,
    *,
    subject: str | None = None,
    reason: str = "",
) -> RedriveResult:
    """Re-drive the dead letters at `seqs` (None: every one whose original subject matches
    `subject`) to their original subjects, after the control gate's consent.

    Raises ConfigError without a token and `ControlRefused` when the gate refuses or does
    not answer: then nothing is published. Each letter is published with a fixed msg id and
    then deleted from DLQ, so re-driving a sequence twice sends it once.
    """
    if not token:
        raise ConfigError("a re-drive needs the running system's token: set ALPHA_PANDA_API_TOKEN")
    if seqs is None:
        chosen = [e.seq for e in await list_dead_letters(bus, subject, limit=0)]
    else:
        chosen = list(dict.fromkeys(seqs))
        for seq in chosen:
            if seq <= 0:
                raise ConfigError(f"DLQ sequences are positive integers, got {seq}")
    detail = {
        "stream": _STREAM,
        "seqs": _ranges(chosen),
        "subject": subject or "",
        "count": str(len(chosen)),
    }
    audit_id = await authorize_replay(bus, token, "redrive", requested_by, detail, reason)
    result = RedriveResult(audit_id=audit_id)
    for seq in chosen:
        await _redrive_one(bus, seq, result)
    await _record_completion(bus, requested_by, result)
    return result


async def _redrive_one(bus: Bus, seq: int, result: RedriveResult) -> None:
    entry = await _get(bus, seq)
    if entry is None:
        result.outcomes[seq] = RedriveOutcome.MISSING
        return
    headers = {k: v for k, v in entry.headers.items() if k != HDR_MSG_ID}
    headers[HDR_MSG_ID] = redrive_msg_id(seq)
    ack = await bus.js.publish(
        entry.subject, entry.payload_bytes(), timeout=bus.publish_timeout_s, headers=headers
    )
    result.outcomes[seq] = RedriveOutcome.DUPLICATE if ack.duplicate else RedriveOutcome.REDRIVEN
    result.published_seqs[seq] = int(ack.seq)
    await bus.js.delete_msg(_STREAM, seq)


async def _record_completion(bus: Bus, who: str, result: RedriveResult) -> None:
    """The figures of the re-drive on `audit.redrive`, after the gate's consent record."""
    detail = {
        "state": "completed",
        "stream": _STREAM,
        "consent_id": result.audit_id,
        "redriven": _ranges(s for s, o in result.outcomes.items() if o == RedriveOutcome.REDRIVEN),
        "duplicates": str(result.count(RedriveOutcome.DUPLICATE)),
        "missing": _ranges(s for s, o in result.outcomes.items() if o == RedriveOutcome.MISSING),
    }
    event = AuditEvent(kind="redrive", actor=who or "unknown", detail=detail)
    await bus.publish(audit_subject("redrive"), new_envelope(event, source="ops.dlq", key=_STREAM))


def _ranges(seqs: Iterable[int]) -> str:
    """`1-3,7` for [1, 2, 3, 7]: short enough for an audit record of a big re-drive."""
    parts: list[str] = []
    run: list[int] = []
    for seq in sorted(set(seqs)):
        if run and seq == run[-1] + 1:
            run.append(seq)
            continue
        if run:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [seq]
    if run:
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(parts)
