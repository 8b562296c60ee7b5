"""Avro schemas generated from the msgspec structs: one source of truth, no I/O.

Every event type gets one schema: its payload wrapped in the envelope. A Kafka topic has
one event type (its *topic class*), so the subject `<topic>-value` of every topic of a
class carries the same schema. Mapping rules (kept stable, since the files are governed):

* `str` → string, `int` → long, `bool` → boolean, `float` → double;
* `Decimal` → string (money travels as exact decimal text, as it does in JSON);
* `X | None` → a union with `null`, the branch of the default listed first (Avro's rule);
* `list[X]` → array, `dict[str, X]` → map, `StrEnum` → enum, nested Struct → named record;
* a field annotated with `schemas.events.AVRO_STRING` → string (an enum that was a string);
* a field's msgspec default becomes its Avro default, so a new field with a default is a
  BACKWARD compatible change and one without is not (STYLE 8).
"""

from __future__ import annotations

import enum
import json
from decimal import Decimal
from typing import Any, Final

import msgspec
import msgspec.inspect as mi

from schemas.catalogue import topic_event_types
from schemas.envelope import Envelope
from schemas.events import EVENT_TYPES, DeadLetter, Event
from schemas.names import DLQ_TOPIC_SUFFIX

__all__ = [
    "NAMESPACE",
    "DLQ_SUFFIX",
    "TOPIC_EVENT_TYPES",
    "envelope_schema",
    "all_schemas",
    "event_type_for_topic",
    "schema_for_topic",
    "canonical_json",
    "catalog_topics",
]

NAMESPACE: Final = "alpha_panda"
DLQ_SUFFIX: Final = DLQ_TOPIC_SUFFIX

TOPIC_EVENT_TYPES: Final[dict[str, str]] = topic_event_types()


def catalog_topics() -> list[str]:
    """Every topic the bridge writes for DESIGN's subjects, each followed by its `.dlq` twin."""
    out: list[str] = []
    for topic in TOPIC_EVENT_TYPES:
        out += [topic, topic + DLQ_SUFFIX]
    return out


def event_type_for_topic(topic: str) -> str | None:
    """The event type a topic carries, or None for a topic outside the catalog."""
    if topic.endswith(DLQ_SUFFIX):
        return DeadLetter.TYPE
    return TOPIC_EVENT_TYPES.get(topic)


class _Namer:
    """Tracks named types already defined: Avro defines a name once, then refers to it."""

    def __init__(self) -> None:
        self.defined: set[str] = set()

    def first_use(self, fullname: str) -> bool:
        if fullname in self.defined:
            return False
        self.defined.add(fullname)
        return True


def _default_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return msgspec.to_builtins(value)


def _branch_matches(branch: Any, value: Any) -> bool:
    return (branch == "null") is (value is None)


def _avro_type(t: mi.Type, namer: _Namer, default: Any = msgspec.NODEFAULT) -> Any:
    if isinstance(t, mi.Metadata):
        if (t.extra or {}).get("avro") == "string":
            return "string"
        return _avro_type(t.type, namer, default)
    if isinstance(t, mi.StrType | mi.DecimalType):
        return "string"
    if isinstance(t, mi.BoolType):
        return "boolean"
    if isinstance(t, mi.IntType):
        return "long"
    if isinstance(t, mi.FloatType):
        return "double"
    if isinstance(t, mi.NoneType):
        return "null"
    if isinstance(t, mi.ListType):
        return {"type": "array", "items": _avro_type(t.item_type, namer)}
    if isinstance(t, mi.DictType):
        if not isinstance(t.key_type, mi.StrType):
            raise TypeError(f"Avro maps need string keys, got {t.key_type!r}")
        return {"type": "map", "values": _avro_type(t.value_type, namer)}
    if isinstance(t, mi.EnumType):
        name = f"{NAMESPACE}.enums.{t.cls.__name__}"
        if not namer.first_use(name):
            return name
        return {
            "type": "enum",
            "name": t.cls.__name__,
            "namespace": f"{NAMESPACE}.enums",
            "symbols": [m.value for m in t.cls],
        }
    if isinstance(t, mi.StructType):
        return _record(t, namer, f"{NAMESPACE}.events")
    if isinstance(t, mi.UnionType):
        branches = [_avro_type(x, namer) for x in t.types]
        if default is not msgspec.NODEFAULT:
            branches.sort(key=lambda b: not _branch_matches(b, default))
        elif "null" in branches:
            branches.sort(key=lambda b: b != "null")
        return branches
    raise TypeError(f"no Avro mapping for {t!r}; extend schemas/avro.py deliberately")


def _record(t: mi.StructType, namer: _Namer, namespace: str, name: str | None = None) -> Any:
    name = name or t.cls.__name__
    fullname = f"{namespace}.{name}"
    if not namer.first_use(fullname):
        return fullname
    fields = []
    for f in t.fields:
        default: Any = msgspec.NODEFAULT
        if f.default is not msgspec.NODEFAULT:
            default = f.default
        elif f.default_factory is not msgspec.NODEFAULT:
            default = f.default_factory()
        field: dict[str, Any] = {"name": f.encode_name, "type": _avro_type(f.type, namer, default)}
        if default is not msgspec.NODEFAULT:
            field["default"] = _default_json(default)
        fields.append(field)
    record: dict[str, Any] = {"type": "record", "name": name, "namespace": namespace}
    doc = (t.cls.__doc__ or "").strip().splitlines()
    if doc:
        record["doc"] = doc[0]
    record["fields"] = fields
    return record


def envelope_schema(event: type[Event]) -> dict[str, Any]:
    """The Avro schema of `Envelope[event]` (a JSON-ready dict)."""
    info = mi.type_info(Envelope[event])  # type: ignore[valid-type]
    if not isinstance(info, mi.StructType):
        raise TypeError(f"unexpected type info for Envelope[{event.__name__}]: {info!r}")
    schema: dict[str, Any] = _record(
        info, _Namer(), f"{NAMESPACE}.envelope", f"{event.__name__}Envelope"
    )
    schema["doc"] = f"Envelope of a {event.TYPE!r} event (schema_version {event.VERSION})"
    return schema


def all_schemas() -> dict[str, dict[str, Any]]:
    """Event type → its envelope schema, for every registered event type."""
    return {name: envelope_schema(cls) for name, cls in sorted(EVENT_TYPES.items())}


def schema_for_topic(topic: str) -> dict[str, Any] | None:
    name = event_type_for_topic(topic)
    return envelope_schema(EVENT_TYPES[name]) if name else None


def canonical_json(schema: dict[str, Any]) -> str:
    """The committed file form: stable key order as generated, two-space indent, newline."""
    return json.dumps(schema, indent=2) + "\n"
