"""`BridgeProcess`: the JetStream → Kafka mirror as a supervised child.

One durable consumer per mirrored stream feeds one inbox (`bridge.mirror.intake`); one
loop maps, validates and encodes each message and hands it to the pipeline (per-partition
batches, ack after Kafka's ack). Kafka trouble does not crash the child: the bridge reports
unhealthy, drops what it holds, waits a jittered backoff and resumes from the consumers'
unacked messages, so a long Kafka outage never exhausts its supervisor's restart intensity.

What retrying cannot fix (an error with `retriable` False: a topic setting the cluster
refuses, a missing topic, a permission, a producer setting the broker does not support)
stops the bridge instead: `run` raises that error, whose message is the remedy, and the
bridge's transient child spec is then not restarted (`bridge.mirror.child`).
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any, Final

from bridge.errors import BridgeError, MirrorInterrupted
from bridge.governance.codec import AvroCodec, JsonCodec, ValueCodec
from bridge.governance.registry import RegistryClient
from bridge.mirror.config import BridgeConfig
from bridge.mirror.intake import Intake
from bridge.mirror.lag import LagMonitor
from bridge.mirror.metrics import HEALTHY, RESETS, StreamFigures
from bridge.mirror.pipeline import Pipeline
from bridge.mirror.producers import ProducerPool
from bridge.mirror.records import RecordBuilder
from bridge.mirror.resume import TailReader
from bridge.topics.admin import ensure_topics
from supervisors.bus import Bus
from supervisors.child import Ready
from supervisors.consumer import ConsumerLost

__all__ = ["BridgeProcess"]

log = logging.getLogger(__name__)

_STOP: Final = object()
_REBIND: Final = object()


class _Failure:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class BridgeProcess:
    """The mirror (implements `supervisors.child.Child`)."""

    def __init__(self, bus: Bus, config: BridgeConfig, *, name: str = "bridge") -> None:
        self.name = name
        self.bus = bus
        self.config = config
        self.state = "idle"
        self.figures = {s: StreamFigures(s) for s in config.streams}
        self.resets = 0
        self.last_error: str | None = None
        self._healthy = True
        self._stop = asyncio.Event()
        self._inbox: asyncio.Queue[Any] = asyncio.Queue()
        self._intake = Intake(bus, config, self._inbox, self._wake, name=name)
        self._topics_ready = False
        self._pipeline: Pipeline | None = None
        self._failures = 0  # consecutive: the backoff grows with it, a success resets it

    @property
    def bound(self) -> list[str]:
        """The streams mirrored in this epoch."""
        return self._intake.bound

    # --- Child protocol ----------------------------------------------------------------------

    def request_stop(self) -> None:
        self._stop.set()
        self._inbox.put_nowait(_STOP)

    def status(self) -> dict[str, Any]:
        return {
            "kind": "bridge",
            "state": self.state,
            "healthy": self._healthy and self.state == "running",
            "last_error": self.last_error,
            "resets": self.resets,
            "kafka": self.config.bootstrap_servers,
            "codec": "avro" if self.config.registry_url else "json",
            "streams": {s: f.as_dict() for s, f in self.figures.items()},
            "unbound_streams": [s for s in self.config.streams if s not in self.bound],
            "queued": self._pipeline.queued if self._pipeline else 0,
            "inbox": self._inbox.qsize(),
        }

    async def run(self, ready: Ready) -> None:
        self.state = "starting"
        config = self.config
        pool = ProducerPool(config.bootstrap_servers, config.profiles, config.client_id)
        builder = RecordBuilder(
            self._codec(), limit_bytes=lambda topic: pool.profile(topic).request_limit_bytes
        )
        tails = TailReader(config.bootstrap_servers, client_id=f"{config.client_id}-resume")
        pipeline = self._pipeline = Pipeline(
            pool, tails, self.figures, self._wake, lambda: self._set_healthy(True)
        )
        monitor = LagMonitor(
            self.bus, config, self.figures, lambda: list(self.bound), self._rebind_soon
        )
        lag = asyncio.create_task(monitor.run(), name=f"{self.name}:lag")
        is_ready = False
        try:
            while not self._stop.is_set():
                try:
                    await self._intake.bind()
                    if not is_ready:
                        ready()
                        is_ready = True
                    self.state = "running"
                    HEALTHY.set(1 if self._healthy else 0)
                    if config.ensure_topics and not self._topics_ready:
                        await ensure_topics(config.bootstrap_servers, config.env)
                        self._topics_ready = True
                    if await self._pump(builder, pipeline) is _REBIND:
                        await self._intake.unbind()
                        await pipeline.drain(config.drain_timeout_s)
                        await pipeline.reset(settle_s=5.0)
                        continue
                    await self._catch_up(builder, pipeline)
                except (BridgeError, ConsumerLost) as exc:
                    if not getattr(exc, "retriable", True):
                        self._give_up(exc)
                        raise
                    self._failures += 1
                    await self._recover(pipeline, exc, self._failures)
            self.state = "stopping"
            await self._intake.unbind()
            if not await pipeline.drain(config.drain_timeout_s):
                log.warning("bridge stopped with records in flight; they are resent on restart")
        except BaseException:
            if self.state != "failed":
                self.state = "crashed"
            raise
        finally:
            lag.cancel()
            await asyncio.gather(lag, return_exceptions=True)
            await self._intake.unbind()
            await pipeline.reset(settle_s=5.0)
            if self.state not in ("crashed", "failed"):
                self.state = "stopped"
            HEALTHY.set(0)

    # --- consumption -------------------------------------------------------------------------

    def _codec(self) -> ValueCodec:
        if self.config.registry_url:
            registry = RegistryClient(self.config.registry_url)
            return AvroCodec(registry, auto_register=self.config.auto_register)
        return JsonCodec()

    def _rebind_soon(self) -> None:
        if self.state == "running":
            self._inbox.put_nowait(_REBIND)

    def _wake(self, exc: BaseException) -> None:
        self._inbox.put_nowait(_Failure(exc))

    async def _pump(self, builder: RecordBuilder, pipeline: Pipeline) -> object:
        while True:
            entry = await self._inbox.get()
            if entry is _STOP or entry is _REBIND:
                return entry
            await self._handle(entry, builder, pipeline)

    async def _catch_up(self, builder: RecordBuilder, pipeline: Pipeline) -> None:
        """On a graceful stop, mirror what the streams hold now, within `drain_timeout_s`.

        Stopped last in the tree, the bridge then leaves Kafka holding every message the
        actors stored before they stopped.
        """
        try:
            async with asyncio.timeout(self.config.drain_timeout_s):
                targets = {s: await self.bus.stream_last_seq(s) for s in self.bound}
                while not await self._caught_up(targets):
                    try:
                        async with asyncio.timeout(0.05):
                            entry = await self._inbox.get()
                    except TimeoutError:
                        continue
                    if entry is not _STOP and entry is not _REBIND:
                        await self._handle(entry, builder, pipeline)
        except (TimeoutError, BridgeError, ConsumerLost) as exc:
            log.warning("bridge stopping before it caught up (%s); it resumes on restart", exc)

    async def _caught_up(self, targets: dict[str, int]) -> bool:
        for stream, target in targets.items():
            info = await self.bus.js.consumer_info(stream, self.config.durable(stream))
            if int(info.ack_floor.stream_seq or 0) < target:
                return False
        return True

    async def _handle(self, entry: Any, builder: RecordBuilder, pipeline: Pipeline) -> None:
        if isinstance(entry, _Failure):
            exc = entry.exc
            if isinstance(exc, BridgeError | ConsumerLost):
                raise exc
            raise MirrorInterrupted("a task of the mirror", exc) from exc
        stream, msg = entry
        meta = self._intake.check(stream, msg)
        headers = msg.headers or {}
        record = await builder.build(stream, msg.subject, meta.stream_seq, msg.data, headers)
        await pipeline.submit(msg, stream, meta.stream_seq, meta.ts_ms, record)

    def _give_up(self, exc: BaseException) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        self._set_healthy(False)
        self.state = "failed"
        log.error("bridge stopped: %s", self.last_error)

    async def _recover(self, pipeline: Pipeline, exc: BaseException, attempt: int) -> None:
        """Drop everything held in memory, back off, and let `_bind` resume from the floor."""
        self.resets += 1
        RESETS.inc()
        self.last_error = f"{type(exc).__name__}: {exc}"
        self._set_healthy(False)
        self.state = "retrying"
        log.warning("bridge: %s (attempt %d); resuming after backoff", self.last_error, attempt)
        await self._intake.unbind()
        timeout_ms = max(p.request_timeout_ms for p in self.config.profiles.values())
        await pipeline.reset(settle_s=timeout_ms / 1000 + 5)
        self._drain_inbox()
        config = self.config
        delay = min(config.backoff_max_s, config.backoff_min_s * 2 ** min(attempt - 1, 16))
        delay *= 1 + random.random() * config.backoff_jitter
        try:
            async with asyncio.timeout(delay):
                await self._stop.wait()
        except TimeoutError:
            pass
        self._drain_inbox()

    def _drain_inbox(self) -> None:
        stop = False
        while not self._inbox.empty():
            if self._inbox.get_nowait() is _STOP:  # a pending _REBIND is moot: we rebind anyway
                stop = True
        if stop or self._stop.is_set():
            self._inbox.put_nowait(_STOP)

    def _set_healthy(self, healthy: bool) -> None:
        if healthy:
            self._failures = 0
        if healthy == self._healthy:
            return
        self._healthy = healthy
        HEALTHY.set(1 if healthy else 0)
