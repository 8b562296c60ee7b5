"""`ActorProcess`: runs one `Actor` as a supervised child.

One mailbox, one processing loop: handlers never run concurrently, so actor state needs
no locks. Feeders (pull consumers, core subscriptions, timers) block on the bounded mailbox.
The loop takes up to `flush_batch` items, runs their handlers, publishes all outputs
pipelined, waits for every acknowledgement, and only then acks the inputs (DESIGN:
ack-after-store, batched). Any failure to store crashes the actor: unacked inputs are
redelivered to its successor and outputs already stored are dropped as duplicates.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from time import perf_counter
from typing import Any

from nats.aio.msg import Msg

from schemas.envelope import (
    encode,
    headers_for,
)
from schemas.names import STATE_BUCKET
from supervisors.actor import (
    Actor,
    CoreSub,
    Durable,
    Ordered,
    Output,
    Request,
    Source,
    Timer,
)
from supervisors.bus import Bus, ConsumerSettings, Subscription
from supervisors.child import ChildSpec, Ready
from supervisors.consumer import PullFeeder
from supervisors.errors import LeaseLost, SnapshotUnreadable
from supervisors.handling import ActorStats, Handling
from supervisors.intake import Member
from supervisors.ordered_sink import OrderedSink
from supervisors.snapshot import decode_snapshot, encode_snapshot
from supervisors.telemetry.metrics import ActorMetrics

__all__ = ["ActorProcess", "actor_spec"]

log = logging.getLogger(__name__)

_SENTINEL: Any = object()
_SNAPSHOT: Any = object()


class ActorProcess:
    """The supervised process of one actor instance (implements `Child`)."""

    def __init__(
        self,
        actor: Actor,
        bus: Bus,
        *,
        flush_batch: int = 256,
        shutdown_s: float = 5.0,
        guard: Callable[[], bool] | None = None,
    ) -> None:
        self.actor = actor
        self.shutdown_s = shutdown_s  # the child's shutdown timeout; bounds `on_stop`
        self.name = actor.name
        self.bus = bus
        self.state = "idle"
        self.stats = ActorStats()
        self.metrics = ActorMetrics(actor.name, actor.broker)
        self.handling = Handling(actor, self.stats, self.metrics)
        self._flush_batch = flush_batch
        self._mailbox: asyncio.Queue[Any] = asyncio.Queue(maxsize=actor.mailbox_size)
        self._stop = asyncio.Event()
        self._stopping = False
        self._feeders: list[PullFeeder] = []
        self._subs: list[Subscription] = []
        self._members: list[Member] = []  # this actor's places in the process's intakes
        self.handling.applied_seq = 0  # stateful actors: highest stream seq their state includes
        self._busy = False  # the mailbox loop is handling a batch
        self._kv: Any = None
        # Leased actors: False once this process may no longer act for the broker. Checked
        # before each batch and each store, so nothing is handled or stored after the
        # lease's deadline even if the gate that stops us runs late.
        self._guard = guard

    # --- Child protocol ----------------------------------------------------------------------

    def request_stop(self) -> None:
        self._stop.set()

    def status(self) -> dict[str, Any]:
        s = self.stats
        return {
            "kind": "actor",
            "broker": self.actor.broker,
            "mailbox_depth": self._mailbox.qsize(),
            "mailbox_size": self._mailbox.maxsize,
            "consumer_pending": s.consumer_pending,
            "processed": s.processed,
            "skipped": s.skipped,
            "failed": s.failed,
            "dead_lettered": s.dead_lettered,
            "invalid": s.invalid,
            "outputs": s.outputs,
            "gaps": self.bus.slow_consumer_drops if self._subs or self._members else 0,
            "last_handler_error": s.last_error,
            **self.actor.stats(),
        }

    async def run(self, ready: Ready) -> None:
        self.state = "starting"
        try:
            self._check_guard()
            await self.actor.on_start(self.bus)
            await self._restore_and_replay()
            async with asyncio.TaskGroup() as tg:
                background = await self._bind_inputs(tg)
                processor = tg.create_task(self._process_loop(), name=f"{self.name}:mailbox")
                self.state = "running"
                ready()
                stop = tg.create_task(self._stop.wait(), name=f"{self.name}:stop")
                await asyncio.wait({stop, processor}, return_when=asyncio.FIRST_COMPLETED)
                self.state = "stopping"
                if not processor.done():
                    await self._drain(processor)
                await self._unbind_inputs()
                for task in background:
                    task.cancel()
                self._stopping = True
                if not processor.done():
                    try:
                        self._mailbox.put_nowait(_SENTINEL)
                    except asyncio.QueueFull:
                        pass  # the loop sees `_stopping` at its next batch
                stop.cancel()
        except BaseExceptionGroup as group:
            self.state = "crashed"
            first = group.exceptions[0]
            while isinstance(first, BaseExceptionGroup):
                first = first.exceptions[0]
            raise first from None
        finally:
            if self.state != "crashed":
                self.state = "stopping"
            await self._unbind_inputs()
            # Feeders may have queued more after the loop ended (a crash, a lost lease):
            # hand those back now, or they would wait out ack_wait before a successor gets them.
            await self._release(None)
            try:
                async with asyncio.timeout(self.shutdown_s):
                    await self.actor.on_stop()
            except TimeoutError:
                log.error("%s: on_stop did not finish within %gs", self.name, self.shutdown_s)
            except Exception:
                log.exception("%s: on_stop failed", self.name)
            if self.state != "crashed":
                self.state = "stopped"

    # --- inputs ------------------------------------------------------------------------------

    async def _bind_inputs(self, tg: asyncio.TaskGroup) -> list[asyncio.Task[None]]:
        background: list[asyncio.Task[None]] = []
        for inp in self.actor.inputs():
            if isinstance(inp, Durable):
                await self.bus.ensure_consumer(
                    inp.stream,
                    inp.durable,
                    inp.subjects,
                    ConsumerSettings(
                        ack_wait_s=inp.ack_wait_s,
                        max_ack_pending=inp.max_ack_pending,
                        deliver_new=inp.deliver_new,
                    ),
                    # after a fence (`_fence`): from the first sequence the state lacks
                    start_seq=(
                        self.handling.applied_seq + 1
                        if self._guard is not None and inp.replay
                        else None
                    ),
                )
                feeder = PullFeeder(
                    self.bus, inp.stream, inp.durable, self._enqueue_for(inp), batch=inp.batch
                )
                await feeder.start()
                self._feeders.append(feeder)
                background.append(
                    tg.create_task(feeder.watchdog(), name=f"{self.name}:{inp.durable}:watchdog")
                )
            elif isinstance(inp, CoreSub | Request):
                sub = await self.bus.subscribe(inp.subject, self._enqueue_for(inp), queue=inp.queue)
                self._subs.append(sub)
            elif isinstance(inp, Ordered):
                member = await self._bind_ordered(inp)
                background.append(
                    tg.create_task(member.run(), name=f"{self.name}:{inp.subject}:catch-up")
                )
            elif isinstance(inp, Source):
                background.append(
                    tg.create_task(self._run_source(inp), name=f"{self.name}:{inp.name}")
                )
            else:
                background.append(
                    tg.create_task(self._timer_loop(inp), name=f"{self.name}:{inp.name}")
                )
        if self.actor.snapshot_key:
            background.append(tg.create_task(self._snapshot_loop(), name=f"{self.name}:snapshot"))
        return background

    async def _bind_ordered(self, inp: Ordered[Any]) -> Member:
        """Join the process's intake of the input's stream and subject (one ordered consumer
        for every actor of the process that follows them, `supervisors.intake`)."""
        start = inp.start_seq() if inp.start_seq else 0
        if inp.resume and self.handling.applied_seq:
            start = self.handling.applied_seq + 1
        sink = OrderedSink(
            self.name, inp, self._mailbox, lambda: self._idle, self.stats, self.handling
        )
        member = await self.bus.intakes.join(
            inp.stream, inp.subject, sink, start_seq=start,
            last_per_subject=inp.last_per_subject and start <= 0, label=self.name,
        )  # fmt: skip
        self._members.append(member)
        return member

    async def _run_source(self, source: Source) -> None:
        await source.run(self.bus)

    async def _snapshot_loop(self) -> None:
        interval = self.actor.snapshot_interval_s
        # A random phase for the first one: actors started together would otherwise all
        # snapshot in the same instant, every interval, stalling the loop together.
        await asyncio.sleep(interval * random.uniform(0.5, 1.0))
        while True:
            await self._mailbox.put((_SNAPSHOT, None))
            await asyncio.sleep(interval)

    def _check_guard(self) -> None:
        if self._guard is not None and not self._guard():
            raise LeaseLost(
                f"{self.name}: this process no longer holds the lease of broker "
                f"{self.actor.broker}; another process may own it now"
            )

    async def _write_snapshot(self) -> None:
        key = self.actor.snapshot_key
        if not key or self._kv is None:
            return
        if self._guard is not None and not self._guard():
            return  # the state is no longer ours to publish: the new owner's snapshot wins
        await self._kv.put(key, encode_snapshot(self.handling.applied_seq, self.actor.dump_state()))

    async def _restore_and_replay(self) -> None:
        """Stateful actors: load the snapshot, then handle what the stream holds after it."""
        key = self.actor.snapshot_key
        if not key:
            return
        state_type = self.actor.state_type
        if state_type is None:
            raise TypeError(f"{self.name} sets snapshot_key but no state_type to decode it as")
        if self._guard is not None:
            await self._fence()
        self._kv = await self.bus.key_value(STATE_BUCKET)
        try:
            entry = await self._kv.get(key)
        except Exception:  # no snapshot yet: start from the stream's beginning
            entry = None
        if entry is not None and entry.value:
            try:
                snap = decode_snapshot(entry.value, state_type)
            except SnapshotUnreadable as exc:
                # A snapshot is a cache of the stream: rebuild from it rather than crash-loop.
                log.error("%s: snapshot %r in %s ignored, rebuilding from the stream: %s",
                          self.name, key, STATE_BUCKET, exc)  # fmt: skip
            else:
                self.actor.load_state(snap.state)
                self.handling.applied_seq = snap.seq
        for inp in self.actor.inputs():
            if isinstance(inp, Durable) and inp.replay:
                await self._replay(inp)

    async def _fence(self) -> None:
        """A leased actor takes its durable consumers over from any previous owner.

        A previous owner that is frozen or cut off may still have pull requests waiting on
        the consumer: messages stored after our replay could go to it, come back out of
        stream order, and be skipped here as already applied. Deleting the consumer ends
        those requests; it is created again after the replay, from the first sequence our
        state does not include, and everything before that is covered by the replay.
        """
        for inp in self.actor.inputs():
            if not isinstance(inp, Durable) or not inp.replay:
                continue
            if await self.bus.delete_consumer(inp.stream, inp.durable):
                log.info("%s: took consumer %s over", self.name, inp.durable)

    async def _replay(self, inp: Durable[Any]) -> None:
        end = await self.bus.stream_last_seq(inp.stream)
        if end <= self.handling.applied_seq:
            return
        replayed = 0
        outputs: list[Output] = []
        pending = 0
        start = self.handling.applied_seq + 1
        async for msg in self.bus.replay(inp.stream, inp.subjects, start, end):
            await self.handling.durable(inp, msg, outputs, None)
            pending += 1
            if pending >= self._flush_batch:
                await self._store(outputs)
                await self.actor.on_stored(len(outputs))
                await self._write_snapshot()  # a long replay keeps its progress
                replayed, pending, outputs = replayed + pending, 0, []
        await self._store(outputs)
        await self.actor.on_stored(len(outputs))
        replayed += pending
        self.handling.applied_seq = max(self.handling.applied_seq, end)
        await self._write_snapshot()
        if replayed:
            log.info("%s: replayed %d input(s) up to %s seq %d", self.name, replayed,
                     inp.stream, end)  # fmt: skip

    async def _drain(self, processor: asyncio.Task[None]) -> None:
        """Graceful stop of a draining actor: handle what its consumers still hold, bounded."""
        budget = min(self.actor.drain_on_stop_s, self.shutdown_s / 2)
        durables = [i for i in self.actor.inputs() if isinstance(i, Durable)]
        if budget <= 0 or not durables:
            return
        try:
            async with asyncio.timeout(budget):
                while not processor.done():
                    if self._guard is not None and not self._guard():
                        return  # a lost lease stops at once: a successor may be starting
                    try:
                        if self._idle and await self._consumers_empty(durables):
                            return
                    except Exception as exc:  # NATS gone: what is pending waits for a restart
                        log.warning("%s: stopped without draining: %s", self.name, exc)
                        return
                    await asyncio.sleep(0.05)
        except TimeoutError:
            log.warning("%s: stopped with inputs still pending after %gs of draining",
                        self.name, budget)  # fmt: skip

    async def _consumers_empty(self, durables: list[Durable[Any]]) -> bool:
        for inp in durables:
            info = await self.bus.js.consumer_info(inp.stream, inp.durable)
            if info.num_pending or info.num_ack_pending:
                return False
        return self._idle

    async def _unbind_inputs(self) -> None:
        feeders, self._feeders = self._feeders, []
        subs, self._subs = self._subs, []
        members, self._members = self._members, []
        for member in members:
            await self.bus.intakes.leave(member)
        for feeder in feeders:
            await feeder.stop()
        for sub in subs:
            try:
                await sub.unsubscribe()
            except Exception:  # connection already closed
                pass

    def _enqueue_for(self, inp: Durable[Any] | CoreSub[Any] | Request) -> Callable[[Msg], Any]:
        mailbox = self._mailbox

        async def enqueue(msg: Msg) -> None:
            await mailbox.put((inp, msg))

        return enqueue

    async def _timer_loop(self, timer: Timer) -> None:
        while True:
            await asyncio.sleep(timer.interval_s)
            await self._mailbox.put((timer, None))

    # --- the mailbox loop --------------------------------------------------------------------

    @property
    def _idle(self) -> bool:
        return not self._busy and self._mailbox.empty()

    async def _process_loop(self) -> None:
        mailbox = self._mailbox
        while True:
            self._busy = False
            item = await mailbox.get()
            self._busy = True
            if item is _SENTINEL or self._stopping:
                await self._release(item)
                await self._write_snapshot()
                return
            batch = [item]
            if self._guard is not None and not self._guard():
                await self._release(item)
                self._check_guard()
            while len(batch) < self._flush_batch and not mailbox.empty():
                nxt = mailbox.get_nowait()
                if nxt is _SENTINEL:
                    self._stopping = True
                    break
                batch.append(nxt)
            outputs: list[Output] = []
            to_ack: list[Msg] = []
            replies: list[tuple[str, bytes]] = []
            observe = self.metrics.handling.observe
            try:
                for inp, msg in batch:
                    started = perf_counter()
                    if isinstance(inp, Durable):
                        await self.handling.durable(inp, msg, outputs, to_ack)
                    elif inp is _SNAPSHOT:
                        continue  # written below, once this batch's outputs are stored
                    elif isinstance(inp, Ordered):
                        await self.handling.ordered(inp, msg, outputs)
                    elif isinstance(inp, CoreSub):
                        await self.handling.core(inp, msg, outputs)
                    elif isinstance(inp, Request):
                        await self.handling.request(inp, msg, outputs, replies)
                    else:
                        await self.handling.timer(inp, outputs)
                    observe(perf_counter() - started)
                await self._store(outputs)
                # before the snapshot: what the actor writes outside JetStream there (the
                # ledger's group commit) must be durable before a snapshot says it is applied
                await self.actor.on_stored(len(outputs))
                if any(inp is _SNAPSHOT for inp, _ in batch):
                    await self._write_snapshot()
            except BaseException:
                # Crash: hand the whole batch back for redelivery to our successor now
                # rather than after ack_wait; outputs already stored dedup on their ids.
                await self._nak_quietly([m for i, m in batch if isinstance(i, Durable)])
                await self._release(None)
                raise
            for msg in to_ack:
                await msg.ack()
            for subject, payload in replies:
                await self.bus.core_publish(subject, payload)
            self.stats.processed += len(batch)
            self.metrics.processed.inc(len(batch))
            if self._stopping:
                await self._release(None)
                await self._write_snapshot()
                return

    async def _release(self, first: Any) -> None:
        """On stop: hand queued durable inputs back to the server for immediate redelivery."""
        items = [first] if first is not None and first is not _SENTINEL else []
        while not self._mailbox.empty():
            items.append(self._mailbox.get_nowait())
        await self._nak_quietly(
            [m for i, m in (x for x in items if x is not _SENTINEL) if isinstance(i, Durable)]
        )

    @staticmethod
    async def _nak_quietly(msgs: list[Msg]) -> None:
        for msg in msgs:
            if msg._ackd:
                continue
            try:
                await msg.nak()
            except Exception:  # connection gone: ack_wait redelivers it
                pass

    async def _store(self, outputs: list[Output]) -> None:
        if not outputs:
            return
        self._check_guard()
        pending = []
        for out in outputs:
            fut = await self.bus.publish_pipelined(
                out.subject, encode(out.envelope), headers_for(out.envelope, out.msg_id)
            )
            pending.append((out.subject, fut))
        await self.bus.wait_acks(pending)
        self.stats.outputs += len(outputs)
        self.metrics.outputs.inc(len(outputs))


def actor_spec(
    bus: Bus,
    make: Callable[[], Actor],
    name: str,
    shutdown_s: float = 5.0,
    guard: Callable[[], bool] | None = None,
) -> ChildSpec:
    """A child spec whose start function builds a fresh actor instance each time; the
    instance's `on_stop` is bounded by the same shutdown timeout the supervisor grants."""
    return ChildSpec(
        name=name,
        start=lambda: ActorProcess(make(), bus, shutdown_s=shutdown_s, guard=guard),
        shutdown_s=shutdown_s,
    )
