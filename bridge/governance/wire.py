"""The Confluent wire format: magic byte 0, the schema id (4 bytes, big-endian), the body.

Consumers that use a Confluent-compatible deserializer (Redpanda Console, ksqlDB, Flink,
kafka-avro-console-consumer) read the schema id and fetch the writer's schema from the
registry, so the value must carry exactly this prefix.
"""

from __future__ import annotations

import struct
from typing import Final

__all__ = ["MAGIC", "encode", "decode", "is_wire_format"]

MAGIC: Final = 0
_HEADER: Final = struct.Struct(">bI")


def encode(schema_id: int, body: bytes) -> bytes:
    if not 0 <= schema_id < 2**31:
        raise ValueError(f"schema id out of range: {schema_id}")
    return _HEADER.pack(MAGIC, schema_id) + body


def decode(value: bytes) -> tuple[int, bytes]:
    """Split a wire-format value into (schema id, Avro body); ValueError when it is not one."""
    if len(value) < _HEADER.size or value[0] != MAGIC:
        raise ValueError("not in the Confluent wire format (expected magic byte 0 and a schema id)")
    _, schema_id = _HEADER.unpack_from(value)
    return int(schema_id), value[_HEADER.size :]


def is_wire_format(value: bytes | None) -> bool:
    return bool(value) and len(value or b"") >= _HEADER.size and (value or b"\x01")[0] == MAGIC
