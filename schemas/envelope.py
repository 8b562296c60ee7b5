"""The envelope every message travels in, and its one encoder/decoders.

`Nats-Msg-Id` (dedup), `traceparent` and the event type also travel as NATS headers so
tools can route and trace without decoding the body.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final, Generic, TypeVar

import msgspec

from schemas.clock import ULID_IDS, WALL_CLOCK, Clock, IdSource
from schemas.errors import DecodeError
from schemas.events import AnyEvent, Event, event_class

__all__ = [
    "Envelope",
    "EnvelopeHead",
    "HDR_MSG_ID",
    "HDR_TRACEPARENT",
    "HDR_TYPE",
    "new_envelope",
    "encode",
    "decode",
    "decode_as",
    "decode_head",
    "headers_for",
]

T = TypeVar("T", bound=Event)

HDR_MSG_ID: Final = "Nats-Msg-Id"
HDR_TRACEPARENT: Final = "traceparent"
HDR_TYPE: Final = "Alpha-Type"


class Envelope(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    id: str
    type: str
    schema_version: int
    ts: int
    source: str
    broker: str | None = None
    key: str = ""
    correlation_id: str = ""
    causation_id: str = ""
    trace: str = ""
    data: T


class EnvelopeHead(msgspec.Struct, frozen=True, kw_only=True):
    """The envelope without its payload: cheap to decode when only routing fields matter."""

    id: str
    type: str
    schema_version: int = 1
    ts: int = 0
    source: str = ""
    broker: str | None = None
    key: str = ""
    correlation_id: str = ""
    causation_id: str = ""
    trace: str = ""


def new_envelope(
    data: T,
    *,
    source: str,
    broker: str | None = None,
    key: str = "",
    cause: Envelope[Any] | EnvelopeHead | None = None,
    trace: str = "",
    ts: int | None = None,
    event_id: str | None = None,
    clock: Clock = WALL_CLOCK,
    ids: IdSource = ULID_IDS,
) -> Envelope[T]:
    """Wrap a payload; `cause` links correlation, causation and trace to the input.

    Without `ts` and `event_id`, the time comes from `clock` and the id from `ids`: the
    wall clock and monotonic ULIDs unless a caller injects others."""
    eid = event_id or ids.next_id()
    if cause is not None:
        correlation = cause.correlation_id or cause.id
        causation = cause.id
        trace = trace or cause.trace
    else:
        correlation, causation = eid, ""
    return Envelope(
        id=eid,
        type=data.TYPE,
        schema_version=data.VERSION,
        ts=clock.now_ns() if ts is None else ts,
        source=source,
        broker=broker,
        key=key,
        correlation_id=correlation,
        causation_id=causation,
        trace=trace,
        data=data,
    )


_encoder: Final = msgspec.json.Encoder(decimal_format="string")
_head_decoder: Final = msgspec.json.Decoder(EnvelopeHead)
_any_decoder: Final = msgspec.json.Decoder(Envelope[AnyEvent])


def encode(envelope: Envelope[Any]) -> bytes:
    return _encoder.encode(envelope)


@cache
def _decoder(cls: type[Event]) -> msgspec.json.Decoder[Envelope[Any]]:
    return msgspec.json.Decoder(Envelope[cls])  # type: ignore[valid-type]


def decode_as(raw: bytes, cls: type[T]) -> Envelope[T]:
    """Decode an envelope whose payload must be `cls`; raises DecodeError naming the path."""
    try:
        env: Envelope[T] = _decoder(cls).decode(raw)
    except msgspec.ValidationError as exc:
        raise DecodeError(f"invalid {cls.TYPE} envelope: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise DecodeError(f"malformed JSON for {cls.TYPE} envelope: {exc}") from exc
    if env.type != cls.TYPE:
        raise DecodeError(f"expected type {cls.TYPE!r}, got {env.type!r}")
    return env


def decode_head(raw: bytes) -> EnvelopeHead:
    try:
        return _head_decoder.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise DecodeError(f"not an envelope: {exc}") from exc


def decode(raw: bytes, type_name: str | None = None) -> Envelope[Event]:
    """Decode any envelope: the payload's tag chooses its class, in one pass.

    `type_name` (the message's type header) must agree with the envelope. A payload
    without its tag is decoded as the class its envelope's `type` names.
    """
    try:
        env: Envelope[Any] = _any_decoder.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return _decode_by_type(raw, type_name)  # untagged, or invalid: name the problem
    if env.type != env.data.TYPE:
        raise DecodeError(f"envelope of type {env.type!r} carries a {env.data.TYPE!r} payload")
    if type_name is not None and type_name != env.type:
        raise DecodeError(f"expected type {type_name!r}, got {env.type!r}")
    return env


def _decode_by_type(raw: bytes, type_name: str | None) -> Envelope[Event]:
    name = type_name or decode_head(raw).type
    try:
        cls = event_class(name)
    except ValueError as exc:
        raise DecodeError(str(exc)) from exc
    return decode_as(raw, cls)


def headers_for(envelope: Envelope[Any], msg_id: str | None = None) -> dict[str, str]:
    headers = {HDR_MSG_ID: msg_id or envelope.id, HDR_TYPE: envelope.type}
    if envelope.trace:
        headers[HDR_TRACEPARENT] = envelope.trace
    return headers
