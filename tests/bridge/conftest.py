"""Fixtures of the bridge tests: a throwaway Tansu (Kafka protocol, in memory) per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ops.bench.local_kafka import LocalKafka


@pytest.fixture
def local_kafka() -> Iterator[LocalKafka]:
    kafka = LocalKafka()
    kafka.start()
    yield kafka
    kafka.cleanup()


@pytest.fixture
def tansu(local_kafka: LocalKafka) -> str:
    """Bootstrap servers of a fresh in-memory Tansu broker."""
    return local_kafka.bootstrap_servers
