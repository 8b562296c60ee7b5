"""Record values: validated JSON as NATS carries it, or Avro in the Confluent wire format.

Without a registry the value is the original JSON body (it was validated against the
topic's event type first). With one, the envelope is written in Avro with the schema
registered under `<topic>-value`; the schema comes from `schemas.avro` (the structs).
fastavro (Avro binary codec) is imported only when a registry is configured.
"""

from __future__ import annotations

import io
from typing import Any, Final, Protocol

import msgspec

from bridge.errors import RegistryError, SchemaNotRegistered
from bridge.governance import wire
from bridge.governance.registry import RegistryClient, subject_for_topic
from schemas.avro import envelope_schema, schema_for_topic
from schemas.envelope import Envelope, encode
from schemas.events import EVENT_TYPES, event_class

__all__ = ["ValueCodec", "JsonCodec", "AvroCodec", "AvroDecoder", "CONTENT_JSON", "CONTENT_AVRO"]

CONTENT_JSON: Final = "application/json"
CONTENT_AVRO: Final = "application/vnd.confluent.avro"


class ValueCodec(Protocol):
    content_type: str

    async def prepare(self, topic: str, event_type: str) -> None:
        """Make `encode` ready for `topic` (fetch or register its schema); may raise."""

    def encode(self, topic: str, envelope: Envelope[Any], raw: bytes | None) -> bytes:
        """The record value; raises ValueError/TypeError when the envelope does not fit."""


class JsonCodec:
    """The validated JSON body, byte for byte as it was on NATS."""

    content_type = CONTENT_JSON

    async def prepare(self, topic: str, event_type: str) -> None:
        return None

    def encode(self, topic: str, envelope: Envelope[Any], raw: bytes | None) -> bytes:
        return raw if raw is not None else encode(envelope)


class AvroCodec:
    """Avro values with the registry's schema id; schemas looked up once per topic."""

    content_type = CONTENT_AVRO

    def __init__(self, registry: RegistryClient, *, auto_register: bool = True) -> None:
        import fastavro  # the Avro binary codec; only needed with a registry

        self._fastavro = fastavro
        self._registry = registry
        self._auto_register = auto_register
        self._topics: dict[str, tuple[int, Any]] = {}

    async def prepare(self, topic: str, event_type: str) -> None:
        if topic in self._topics:
            return
        schema = schema_for_topic(topic)
        if schema is None:  # a topic outside the catalog takes the schema of its first event
            schema = envelope_schema(event_class(event_type))
        subject = subject_for_topic(topic)
        schema_id = await self._registry.lookup(subject, schema)
        if schema_id is None:
            if not self._auto_register:
                raise SchemaNotRegistered(subject)
            schema_id = await self._registry.register(subject, schema)
        self._topics[topic] = (schema_id, self._fastavro.parse_schema(schema))

    def encode(self, topic: str, envelope: Envelope[Any], raw: bytes | None) -> bytes:
        schema_id, parsed = self._topics[topic]
        buf = io.BytesIO()
        self._fastavro.schemaless_writer(buf, parsed, msgspec.to_builtins(envelope))
        return wire.encode(schema_id, buf.getvalue())


class AvroDecoder:
    """Turns wire-format values back into the JSON envelopes NATS carries (for replay)."""

    def __init__(self, registry: RegistryClient) -> None:
        import fastavro

        self._fastavro = fastavro
        self._registry = registry
        self._schemas: dict[int, Any] = {}

    async def to_json(self, value: bytes) -> bytes:
        schema_id, body = wire.decode(value)
        parsed = self._schemas.get(schema_id)
        if parsed is None:
            parsed = self._fastavro.parse_schema(await self._registry.schema_by_id(schema_id))
            self._schemas[schema_id] = parsed
        record = self._fastavro.schemaless_reader(io.BytesIO(body), parsed, None)
        if not isinstance(record, dict) or record.get("type") not in EVENT_TYPES:
            raise RegistryError(f"record with schema {schema_id} is not an alpha-panda envelope")
        cls = EVENT_TYPES[str(record["type"])]
        env = msgspec.convert(record, Envelope[cls])  # type: ignore[valid-type]
        return encode(env)
