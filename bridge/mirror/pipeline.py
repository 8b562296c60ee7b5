"""Per-partition pipes: the ordering and ack discipline that makes the mirror exactly-once.

* A message maps to one (topic, partition) by its key (`bridge.mirror.partitioner`).
* Before the first message of a stream reaches a partition, the partition's last
  `nats-seq` of that stream is read from Kafka; a message at or below it is already there,
  so it is acked and not produced again.
* Each partition has at most one batch in flight, built and handed to the producer by us,
  so records reach a partition in sequence order whatever the producer does.
* A message is acked in JetStream only after Kafka acknowledged its batch.
* After any produce error nothing more is sent in this epoch: the owner calls `reset()`,
  which waits for the batches in flight to settle and forgets everything held in memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from aiokafka import TopicPartition
from nats.aio.msg import Msg

from bridge.errors import kafka_failure
from bridge.mirror.metrics import DEAD_LETTERED, MIRRORED, SKIPPED, StreamFigures, stream_labels
from bridge.mirror.partitioner import partition_for
from bridge.mirror.producers import ProducerPool
from bridge.mirror.records import OutRecord
from bridge.mirror.resume import TailReader

__all__ = ["Pipeline", "Item"]

log = logging.getLogger(__name__)

_Key = tuple[TopicPartition, str]


class Item:
    __slots__ = ("msg", "record", "seq", "stream", "ts_ms")

    def __init__(self, msg: Msg, stream: str, seq: int, ts_ms: int, record: OutRecord) -> None:
        self.msg = msg
        self.stream = stream
        self.seq = seq
        self.ts_ms = ts_ms
        self.record = record


class _Pipe:
    __slots__ = ("busy", "queue", "tp")

    def __init__(self, tp: TopicPartition) -> None:
        self.tp = tp
        self.queue: deque[Item] = deque()
        self.busy = False


class Pipeline:
    """Owned by the bridge's mirror loop; `on_failure` is called once per epoch, `on_success`
    after every batch Kafka acknowledged."""

    def __init__(
        self,
        pool: ProducerPool,
        tails: TailReader,
        figures: dict[str, StreamFigures],
        on_failure: Callable[[BaseException], None],
        on_success: Callable[[], None] = lambda: None,
    ) -> None:
        self._pool = pool
        self._tails = tails
        self._figures = figures
        self._on_failure = on_failure
        self._on_success = on_success
        self.epoch = 0
        self.failure: BaseException | None = None
        self._in_kafka: dict[_Key, int] = {}
        self._queued: dict[_Key, int] = {}
        self._pipes: dict[TopicPartition, _Pipe] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self.batches = 0

    # --- intake --------------------------------------------------------------------------------

    async def submit(self, msg: Msg, stream: str, seq: int, ts_ms: int, record: OutRecord) -> None:
        partitions = await self._pool.partitions(record.topic)
        tp = TopicPartition(record.topic, partition_for(record.partition_key, partitions))
        key = (tp, stream)
        in_kafka = self._in_kafka.get(key)
        if in_kafka is None:
            await self._load_tails(record.topic, partitions, stream)
            in_kafka = self._in_kafka[key]
        figures = self._figures[stream]
        if seq <= in_kafka:  # the resume rule: produced before, its ack was lost
            await _ack(msg)
            figures.skipped += 1
            SKIPPED.labels(*stream_labels(stream)).inc()
            return
        if seq <= self._queued.get(key, 0):  # redelivered while its first copy is pending
            figures.redelivered_dropped += 1
            return
        self._queued[key] = seq
        pipe = self._pipes.get(tp)
        if pipe is None:
            pipe = self._pipes[tp] = _Pipe(tp)
        pipe.queue.append(Item(msg, stream, seq, ts_ms, record))
        if not pipe.busy and self.failure is None:
            pipe.busy = True
            self._idle.clear()
            task = asyncio.create_task(
                self._drive(pipe, self.epoch), name=f"bridge:{tp.topic}:{tp.partition}"
            )
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    async def _load_tails(self, topic: str, partitions: int, stream: str) -> None:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        found = await self._tails.last_seqs(stream, tps)
        for tp, seq in found.items():
            self._in_kafka[(tp, stream)] = seq
        held = {tp.partition: s for tp, s in found.items() if s}
        if held:
            log.info("resume %s -> %s: last nats-seq per partition %s", stream, topic, held)

    # --- the one batch in flight per partition ------------------------------------------------

    async def _drive(self, pipe: _Pipe, epoch: int) -> None:
        try:
            while pipe.queue and epoch == self.epoch and self.failure is None:
                sent = await self._send(pipe, epoch)
                if epoch != self.epoch:
                    return
                await self._acknowledge(pipe.tp, sent)
        except Exception as exc:
            if epoch == self.epoch and self.failure is None:
                self.failure = exc
                self._on_failure(exc)
        finally:
            pipe.busy = False

    async def _send(self, pipe: _Pipe, epoch: int) -> list[Item]:
        topic = pipe.tp.topic
        producer = await self._pool.producer(topic)
        limit = self._pool.profile(topic).max_batch_records
        batch = producer.create_batch()
        items: list[Item] = []
        while pipe.queue and len(items) < limit:
            item = pipe.queue[0]
            record = item.record
            if (
                batch.append(
                    key=record.key, value=record.value, timestamp=item.ts_ms, headers=record.headers
                )
                is None
            ):
                break  # full: the rest goes in the next batch
            items.append(pipe.queue.popleft())
        try:
            future = await producer.send_batch(batch, topic, partition=pipe.tp.partition)
            async with asyncio.timeout(self._pool.profile(topic).request_timeout_ms / 1000 + 5):
                await future
        except (Exception, TimeoutError) as exc:  # no retry here: the epoch ends (see above)
            raise kafka_failure(
                f"producing {len(items)} records to {pipe.tp.topic}[{pipe.tp.partition}]", exc
            ) from exc
        self.batches += 1
        return items

    async def _acknowledge(self, tp: TopicPartition, items: list[Item]) -> None:
        self._on_success()
        for item in items:  # the batch is in Kafka: this is its partition's new resume point
            key = (tp, item.stream)
            if item.seq > self._in_kafka.get(key, 0):
                self._in_kafka[key] = item.seq
        for item in items:
            await _ack(item.msg)
            figures = self._figures[item.stream]
            figures.mirrored += 1
            if item.seq > figures.mirrored_seq:
                figures.mirrored_seq = item.seq
            MIRRORED.labels(*stream_labels(item.stream)).inc()
            if item.record.dead_letter:
                figures.dead_lettered += 1
                DEAD_LETTERED.labels(*stream_labels(item.stream)).inc()

    # --- failure, reset, drain -----------------------------------------------------------------

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:  # _drive catches; a bug otherwise
            log.error("bridge pipe task failed", exc_info=task.exception())
        if not self._tasks:
            self._idle.set()

    async def reset(self, settle_s: float) -> None:
        """Stop sending, let batches in flight settle, forget every buffer and resume point."""
        self.epoch += 1
        tasks = list(self._tasks)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=settle_s)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=5)
        self._pipes.clear()
        self._in_kafka.clear()
        self._queued.clear()
        self.failure = None
        await self._pool.close()
        await self._tails.close()

    async def drain(self, timeout_s: float) -> bool:
        """Wait until every queued record is produced and acked (a graceful stop)."""
        try:
            async with asyncio.timeout(timeout_s):
                while self._tasks or any(p.queue for p in self._pipes.values()):
                    if self.failure is not None:
                        return False
                    await self._idle.wait()
                    await asyncio.sleep(0)
        except TimeoutError:
            return False
        return self.failure is None

    @property
    def queued(self) -> int:
        return sum(len(p.queue) for p in self._pipes.values())


async def _ack(msg: Msg) -> None:
    try:
        await msg.ack()
    except Exception as exc:  # connection gone or already acked: redelivery is skipped later
        log.debug("ack failed: %s", exc)
