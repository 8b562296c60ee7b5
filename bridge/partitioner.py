"""Which partition a record goes to: computed here, not by the producer.

The resume rule needs to know, for a redelivered message, the partition it maps to, so the
mapping must be a pure function of the message and the partition count. We use Kafka's
default partitioner for keyed records (murmur2 of the key, sign bit cleared, modulo the
partition count), so a Java or librdkafka client partitioning by the same key agrees. A
record without a key is partitioned by its NATS subject instead of at random.
"""

from __future__ import annotations

from typing import Final

__all__ = ["murmur2", "partition_for"]

_SEED: Final = 0x9747B28C
_M: Final = 0x5BD1E995
_MASK: Final = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's `Utils.murmur2` as a signed 32-bit int (same test vectors as the Java client)."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    for i in range(0, length - length % 4, 4):
        k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length & ~3
    extra = length % 4
    if extra >= 3:
        h ^= data[tail + 2] << 16
    if extra >= 2:
        h ^= data[tail + 1] << 8
    if extra >= 1:
        h ^= data[tail]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for(partition_key: bytes, partitions: int) -> int:
    """Kafka's default mapping: `(murmur2(key) & 0x7fffffff) % partitions`."""
    if partitions <= 0:
        raise ValueError(f"a topic has at least one partition, got {partitions}")
    return (murmur2(partition_key) & 0x7FFFFFFF) % partitions
