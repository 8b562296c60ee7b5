"""The resume point: the last nats-seq of one stream in a partition other streams share."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer, TopicPartition

from bridge.mirror.resume import TailReader
from bridge.topics.admin import ensure_topics


async def _write(bootstrap: str, topic: str, rows: list[tuple[str, int]], batch: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    await producer.start()
    try:
        for i in range(0, len(rows), batch):  # several records per batch, like the bridge
            chunk = producer.create_batch()
            for stream, seq in rows[i : i + batch]:
                chunk.append(key=b"k", value=b"v", timestamp=None,
                             headers=[("nats-stream", stream.encode()), ("nats-seq", str(seq).encode())])  # fmt: skip
            await (await producer.send_batch(chunk, topic, partition=0))
    finally:
        await producer.stop()


async def test_the_last_sequence_of_each_stream_is_found_behind_other_streams_records(
    tansu: str,
) -> None:
    await ensure_topics(tansu, "test")
    topic = "paper.orders.filled.dlq"
    rows = [("DLQ", s) for s in range(1, 41)] + [("PAPER", 7), ("PAPER", 9)]
    rows += [("DLQ", s) for s in range(41, 300)]
    await _write(tansu, topic, rows, batch=13)
    reader = TailReader(tansu, client_id="test")
    try:
        tp = TopicPartition(topic, 0)
        assert await reader.last_seqs("DLQ", [tp]) == {tp: 299}
        assert await reader.last_seqs("PAPER", [tp]) == {tp: 9}
        assert await reader.last_seqs("MARKET", [tp]) == {tp: 0}
        empty = TopicPartition("paper.orders.failed", 0)
        assert await reader.last_seqs("PAPER", [empty]) == {empty: 0}
    finally:
        await reader.close()
