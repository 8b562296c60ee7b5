"""Producer settings per topic class, and the AIOKafkaProducer built from them.

Ticks want throughput (linger, big batches, compression); orders and dead letters want
every record acknowledged by all in-sync replicas. Classes with equal settings share one
producer. Overrides come as `class.field=value` items (`ticks.compression=lz4`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Final

import msgspec
from aiokafka import AIOKafkaProducer
from aiokafka import codec as kafka_codec

from bridge.errors import BridgeConfigError
from bridge.topics.overlays import TOPIC_CLASSES, TopicClass

__all__ = [
    "ProducerProfile",
    "default_profiles",
    "apply_overrides",
    "make_producer",
    "COMPRESSIONS",
]

log = logging.getLogger(__name__)

COMPRESSIONS: Final = ("auto", "none", "gzip", "snappy", "lz4", "zstd")
_AVAILABLE: Final = {
    "auto": lambda: True,
    "none": lambda: True,
    "gzip": kafka_codec.has_gzip,
    "snappy": kafka_codec.has_snappy,
    "lz4": kafka_codec.has_lz4,
    "zstd": kafka_codec.has_zstd,
}


class ProducerProfile(msgspec.Struct, frozen=True, kw_only=True):
    """Settings of one producer. `max_batch_records` caps our own per-partition batches;
    `max_batch_bytes` (before compression) stays under the brokers' 1 MiB batch limit.

    `max_request_bytes` is aiokafka's `max_request_size` (0: twice `max_batch_bytes`, at
    least 1 MiB): a record larger than that, as aiokafka measures it, goes to its topic's
    `.dlq` twin instead (`bridge.mirror.records`). Keep it at or below the topics'
    `max.message.bytes`, and change it with the bridge at rest (zero lag): the limit decides
    where a record goes, and the resume rule needs that to be the same after a restart.
    """

    linger_ms: int = 0
    max_batch_bytes: int = 256 * 1024
    max_batch_records: int = 2000
    max_request_bytes: int = 0
    compression: str = "auto"
    acks: str = "all"
    enable_idempotence: bool = False
    request_timeout_ms: int = 15000

    @property
    def request_limit_bytes(self) -> int:
        """The largest record (and request) the producer sends."""
        return self.max_request_bytes or max(self.max_batch_bytes * 2, 1024 * 1024)

    @property
    def codec(self) -> str | None:
        """The codec to hand aiokafka: `auto` is zstd, else lz4, else gzip (always present)."""
        if self.compression == "auto":
            for name in ("zstd", "lz4"):
                if _AVAILABLE[name]():
                    return name
            return "gzip"
        return None if self.compression == "none" else self.compression

    def validate(self, where: str) -> ProducerProfile:
        if self.compression not in COMPRESSIONS:
            raise BridgeConfigError(
                f"{where}.compression={self.compression!r}: "
                f"expected one of {', '.join(COMPRESSIONS)}"
            )
        if not _AVAILABLE[self.compression]():
            raise BridgeConfigError(
                f"{where}.compression={self.compression}: the codec is not installed; install "
                f"it with `pip install 'aiokafka[{self.compression}]'` or choose gzip"
            )
        if self.acks not in ("all", "1"):
            raise BridgeConfigError(
                f"{where}.acks={self.acks!r}: the bridge acks JetStream only after Kafka did, "
                "so acks must be 'all' (recommended) or '1'"
            )
        if self.max_batch_records < 1 or self.max_batch_bytes < 1024 or self.linger_ms < 0:
            raise BridgeConfigError(f"{where}: batch sizes must be positive, linger_ms >= 0")
        if self.max_request_bytes and self.max_request_bytes < 1024:
            raise BridgeConfigError(
                f"{where}.max_request_bytes={self.max_request_bytes}: at least 1024 "
                "(0 means twice max_batch_bytes, at least 1 MiB)"
            )
        if self.enable_idempotence and self.acks != "all":
            raise BridgeConfigError(
                f"{where}: enable_idempotence=true needs acks=all (Kafka's rule); "
                "set acks=all or enable_idempotence=false"
            )
        return self


def default_profiles() -> dict[TopicClass, ProducerProfile]:
    """Ticks batch and linger a little; everything else is sent at once; all acks=all and
    compressed with the best codec installed (zstd, lz4, else gzip)."""
    events = ProducerProfile(linger_ms=0, max_batch_records=500)
    profiles: dict[TopicClass, ProducerProfile] = dict.fromkeys(TOPIC_CLASSES, events)
    profiles["ticks"] = ProducerProfile(
        linger_ms=2, max_batch_records=4000, max_batch_bytes=768 * 1024
    )
    return profiles


_FIELD_TYPES: Final[dict[str, type]] = {
    f.name: type(f.default) for f in msgspec.structs.fields(ProducerProfile)
}


def apply_overrides(
    profiles: dict[TopicClass, ProducerProfile], items: Iterable[str]
) -> dict[TopicClass, ProducerProfile]:
    """Apply `class.field=value` items (class `*` means every class); validates the result."""
    out = dict(profiles)
    for item in items:
        item = item.strip()
        if not item:
            continue
        target, sep, raw = item.partition("=")
        cls_name, dot, field = target.strip().partition(".")
        if not sep or not dot or field not in _FIELD_TYPES:
            raise BridgeConfigError(
                f"producer override {item!r}: expected CLASS.FIELD=VALUE with FIELD one of "
                f"{', '.join(_FIELD_TYPES)} (e.g. ticks.compression=lz4)"
            )
        classes = TOPIC_CLASSES if cls_name == "*" else (cls_name,)
        for cls in classes:
            if cls not in TOPIC_CLASSES:
                raise BridgeConfigError(
                    f"producer override {item!r}: unknown topic class {cls!r}; "
                    f"expected one of {', '.join(TOPIC_CLASSES)} or *"
                )
            value: Any = _convert(_FIELD_TYPES[field], raw.strip(), item)
            out[cls] = msgspec.structs.replace(out[cls], **{field: value})
    for cls, profile in out.items():
        profile.validate(cls)
    return out


def _convert(kind: type, raw: str, item: str) -> Any:
    if kind is bool:
        if raw.lower() not in ("true", "false", "1", "0"):
            raise BridgeConfigError(f"producer override {item!r}: expected true or false")
        return raw.lower() in ("true", "1")
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise BridgeConfigError(f"producer override {item!r}: expected an integer") from None
    return raw


def make_producer(bootstrap_servers: str, profile: ProducerProfile, client_id: str) -> Any:
    """An AIOKafkaProducer for `profile` (not started).

    Without idempotence, aiokafka would silently resend a batch after a connection error
    until the batch's time to live; when the first attempt did land, that duplicates it.
    We give every batch a zero time to live, so any failure reaches us instead and the
    bridge's own rule (drop, re-read the partition tails, resume from JetStream) applies.
    With idempotence (Redpanda), the broker deduplicates retries and they stay on.
    """
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        acks=-1 if profile.acks == "all" else 1,
        linger_ms=profile.linger_ms,
        max_batch_size=profile.max_batch_bytes,
        max_request_size=profile.request_limit_bytes,
        compression_type=profile.codec,
        enable_idempotence=profile.enable_idempotence,
        request_timeout_ms=profile.request_timeout_ms,
        retry_backoff_ms=100,
    )
    if not profile.enable_idempotence:
        accumulator = getattr(producer, "_message_accumulator", None)
        if accumulator is not None and hasattr(accumulator, "_batch_ttl"):
            accumulator._batch_ttl = 0.0
        else:  # a future aiokafka: fail loudly in the logs rather than duplicate quietly
            log.warning(
                "aiokafka %s has no batch ttl to disable internal retries; a retried produce "
                "may duplicate records after a connection error",
                getattr(AIOKafkaProducer, "__module__", "?"),
            )
    return producer
