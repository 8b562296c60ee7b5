"""Which partition a record goes to: computed here, not by the producer.

The resume rule needs to know, for a redelivered message, the partition it maps to, so the
mapping must be a pure function of the message and the partition count. We use Kafka's
default partitioner for keyed records (murmur2 of the key, sign bit cleared, modulo the
partition count), so a Java or librdkafka client partitioning by the same key agrees. The
hash is aiokafka's own `murmur2`, which returns Java's signed value as an unsigned 32-bit
int; clearing the sign bit makes the two the same (tests/bridge/test_mapping.py checks
Kafka's published vectors). A record without a key is partitioned by its NATS subject
instead of at random.
"""

from __future__ import annotations

from aiokafka.partitioner import murmur2

__all__ = ["partition_for"]


def partition_for(partition_key: bytes, partitions: int) -> int:
    """Kafka's default mapping: `(murmur2(key) & 0x7fffffff) % partitions`."""
    if partitions <= 0:
        raise ValueError(f"a topic has at least one partition, got {partitions}")
    return (int(murmur2(partition_key)) & 0x7FFFFFFF) % partitions
