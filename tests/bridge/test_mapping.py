"""Subject → topic, key, partition and headers; invalid bodies become dead letters (no servers)."""

from __future__ import annotations

import json

import pytest
from aiokafka.partitioner import DefaultPartitioner, murmur2

from bridge.governance.codec import JsonCodec
from bridge.mirror.partitioner import partition_for
from bridge.mirror.records import RecordBuilder
from bridge.topics.overlays import plan_topic, topic_class
from schemas.envelope import encode, headers_for
from schemas.names import topic_for_subject
from supervisors.acks import parse_ack_subject
from tests.bridge.helpers import fill, tick


@pytest.mark.parametrize(
    ("subject", "topic", "key"),
    [
        ("market.ticks.256265", "market.ticks", "256265"),
        ("paper.orders.filled", "paper.orders.filled", ""),
        ("zerodha.signals.raw", "zerodha.signals.raw", ""),
        ("dlq.paper.orders.filled", "paper.orders.filled.dlq", ""),
        ("dlq.market.ticks.5", "market.ticks.dlq", "5"),
        ("control.halt.paper", "control.events", "halt.paper"),
        ("alerts.critical", "alerts", "critical"),
        ("audit.redrive", "audit", "redrive"),
    ],
)
def test_subjects_map_to_the_topics_and_keys_of_the_naming_table(
    subject: str, topic: str, key: str
) -> None:
    assert topic_for_subject(subject) == (topic, key)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"21", -973932308),
        (b"foobar", -790332482),
        (b"a-little-bit-long-string", -985981536),
        (b"a-little-bit-longer-string", -1486304829),
        (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        (b"abc", 479470107),
    ],
)
def test_murmur2_matches_the_java_clients_test_vectors(data: bytes, expected: int) -> None:
    """aiokafka's murmur2 is Java's `Utils.murmur2` read as an unsigned 32-bit int."""
    unsigned = murmur2(data)
    assert 0 <= unsigned < 2**32
    assert (unsigned - 2**32 if unsigned & 0x80000000 else unsigned) == expected
    for partitions in (1, 3, 7, 24, 1000):  # so the partitions are Java's
        assert partition_for(data, partitions) == (expected & 0x7FFFFFFF) % partitions


def test_partition_is_kafkas_default_mapping_of_the_key() -> None:
    assert partition_for(b"21", 7) == (-973932308 & 0x7FFFFFFF) % 7
    assert {partition_for(str(t).encode(), 4) for t in range(1, 100)} == {0, 1, 2, 3}
    keys = [str(t).encode() for t in range(2000)] + [b"", b"co-1", "₹".encode()]
    for partitions in (1, 2, 6, 24):
        everyone = list(range(partitions))
        assert [partition_for(k, partitions) for k in keys] == [
            DefaultPartitioner()(k, everyone, everyone) for k in keys
        ]


async def test_a_tick_is_keyed_by_token_and_carries_the_envelope_and_stream_headers() -> None:
    subject, env = tick(256265)
    record = await RecordBuilder(JsonCodec()).build(
        "MARKET", subject, 42, encode(env), headers_for(env)
    )
    headers = dict(record.headers)
    assert (record.topic, record.key, record.dead_letter) == ("market.ticks", b"256265", False)
    assert record.value == encode(env)
    assert headers["id"] == env.id.encode()
    assert headers["type"] == b"market.tick"
    assert headers["nats-stream"] == b"MARKET"
    assert headers["nats-seq"] == b"42"
    assert headers["nats-subject"] == b"market.ticks.256265"
    assert headers["nats-msg-id"] == env.id.encode()


async def test_a_fill_is_keyed_by_its_envelope_key_and_keeps_its_traceparent() -> None:
    subject, env = fill(3)
    record = await RecordBuilder(JsonCodec()).build(
        "PAPER", subject, 7, encode(env), headers_for(env)
    )
    headers = dict(record.headers)
    assert record.topic == "paper.orders.filled"
    assert record.key == b"co-3"
    assert headers["traceparent"] == env.trace.encode()


async def test_a_body_that_is_not_the_topics_event_becomes_a_dead_letter_with_the_reason() -> None:
    _, env = tick(5)  # a tick published on a fills subject
    record = await RecordBuilder(JsonCodec()).build(
        "PAPER", "paper.orders.filled", 9, encode(env), headers_for(env)
    )
    assert record.dead_letter
    assert record.topic == "paper.orders.filled.dlq"
    headers = dict(record.headers)
    assert b"invalid order.filled envelope" in headers["dlq-reason"]
    assert headers["nats-seq"] == b"9" and headers["nats-stream"] == b"PAPER"
    letter = json.loads(record.value)
    assert letter["type"] == "dead.letter"
    assert letter["data"]["original_subject"] == "paper.orders.filled"
    assert letter["data"]["actor"] == "bridge"
    assert json.loads(letter["data"]["payload"])["id"] == env.id


async def test_garbage_bytes_are_dead_lettered_in_base64() -> None:
    record = await RecordBuilder(JsonCodec()).build("MARKET", "market.ticks.7", 1, b"\xff\x00", {})
    letter = json.loads(record.value)["data"]
    assert record.topic == "market.ticks.dlq" and record.key == b"7"
    assert letter["payload_encoding"] == "base64"


def test_ack_subjects_give_the_stream_sequence_and_store_time() -> None:
    v1 = "$JS.ACK.MARKET.bridge-market.1.4127.4127.1795596553604011292.12"
    v2 = "$JS.ACK.hub.ACCHASH.MARKET.bridge-market.1.4127.4127.1795596553604011292.12.tok"
    for subject in (v1, v2):
        meta = parse_ack_subject(subject)
        assert (meta.stream_seq, meta.consumer_seq, meta.ts_ms) == (4127, 4127, 1795596553604)
        assert (meta.delivered, meta.pending) == (1, 12)


@pytest.mark.parametrize(
    "subject", ["", "paper.orders.filled", "$JS.ACK.MARKET.c.1.2", "$JS.ACK.M.c.x.2.3.4.5"]
)
def test_a_subject_that_is_not_an_ack_subject_is_refused(subject: str) -> None:
    with pytest.raises(ValueError, match="not a JetStream ack subject"):
        parse_ack_subject(subject)


def test_topic_classes_size_partitions_ticks_over_signals_over_orders() -> None:
    plans = {t: plan_topic(t, "production", brokers=5) for t in
             ("market.ticks", "paper.signals.raw", "paper.orders.filled", "paper.orders.filled.dlq")}  # fmt: skip
    assert topic_class("paper.orders.filled.dlq") == "dlq"
    ticks, signals, orders = (plans[t].partitions for t in list(plans)[:3])
    assert ticks > signals > orders
    assert all(p.replication == 3 for p in plans.values())
    dlq, origin = plans["paper.orders.filled.dlq"], plans["paper.orders.filled"]
    assert int(dlq.configs["retention.ms"]) >= int(origin.configs["retention.ms"])
    assert plan_topic("market.ticks", "production", brokers=1).replication == 1
    assert plan_topic("market.ticks", "dev", brokers=3).replication == 1
