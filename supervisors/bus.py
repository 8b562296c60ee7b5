"""The one messaging layer every actor publishes and consumes through.

A thin, typed shell over nats-py: JetStream publishes with `Nats-Msg-Id` (awaited, or
pipelined with a bounded window of outstanding acknowledgements), durable pull consumers
with explicit ack, core subscriptions, request/reply and stream management.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from schemas.envelope import Envelope, encode, headers_for
from supervisors.errors import ConnectFailed, PublishFailed
from supervisors.intake import Intakes
from supervisors.nats_auth import NatsAuth
from supervisors.nats_urls import parse_servers
from supervisors.pubacks import PubAckWindow
from supervisors.security import SecurityMonitor

__all__ = ["Bus", "Msg", "Subscription", "ConsumerSettings", "StreamSettings"]

log = logging.getLogger(__name__)


class ConsumerSettings:
    """Durable pull-consumer settings (explicit ack; the runtime dead-letters, not the server)."""

    __slots__ = ("ack_wait_s", "deliver_new", "max_ack_pending")

    def __init__(
        self, *, ack_wait_s: float = 30.0, max_ack_pending: int = 1024, deliver_new: bool = False
    ) -> None:
        self.ack_wait_s = ack_wait_s
        self.max_ack_pending = max_ack_pending
        self.deliver_new = deliver_new


class StreamSettings:
    """What `ensure_stream` needs; built by ops from the environment's overlay."""

    __slots__ = ("duplicate_window_s", "max_age_s", "max_bytes", "name", "replicas", "subjects")

    def __init__(
        self,
        name: str,
        subjects: Sequence[str],
        *,
        replicas: int = 1,
        max_age_s: float = 0,
        max_bytes: int = -1,
        duplicate_window_s: float = 120,
    ) -> None:
        self.name = name
        self.subjects = list(subjects)
        self.replicas = replicas
        self.max_age_s = max_age_s
        self.max_bytes = max_bytes
        self.duplicate_window_s = duplicate_window_s


async def _next_or_none(
    sub: JetStreamContext.PushSubscription, queue: asyncio.Queue[Msg]
) -> Msg | None:
    """The next message, or None once the consumer has nothing left.

    A new consumer's `num_pending` can read 0 before the server has counted, so an empty
    queue is trusted only once the consumer's info agrees after a wait.
    """
    while True:
        try:
            async with asyncio.timeout(1.0):
                return await queue.get()
        except TimeoutError:
            info = await sub.consumer_info()
            if not info.num_pending and queue.empty():
                return None


def _refused(exc: BaseException) -> bool:
    """The server refused the credentials (as opposed to being unreachable)."""
    text = f"{type(exc).__name__} {exc}".lower()
    return "authorization" in text or "authentication" in text


def _settle(pending: Sequence[tuple[str, asyncio.Future[Any]]]) -> None:
    """After a failure: stop waiting for the rest, and mark failures seen (no warnings)."""
    for _, future in pending:
        if not future.done():
            future.cancel()
        elif not future.cancelled():
            future.exception()


class Bus:
    """A connected NATS client with JetStream. `close()` is safe to call twice."""

    def __init__(
        self, nc: NatsClient, *, publish_timeout_s: float = 5.0, user: str = "anonymous"
    ) -> None:
        self.nc = nc
        self.security = SecurityMonitor(self, user)
        self.js: JetStreamContext = nc.jetstream(timeout=publish_timeout_s)
        self.publish_timeout_s = publish_timeout_s
        self.slow_consumer_drops = 0
        self._closed = False
        self._acks = PubAckWindow(nc)
        # one ordered consumer per stream and subject for every actor of this process
        self.intakes = Intakes(self)

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        name: str = "alpha-panda",
        publish_timeout_s: float = 5.0,
        auth: NatsAuth | None = None,
    ) -> Bus:
        """Connect once, as `auth` says (anonymous without it), to `url`: one server or a
        comma-separated list of a cluster's servers (InvalidNatsUrl names a bad entry).

        A server refusing the credentials fails here, not on the first publish: no
        reconnect loop hides a wrong password.
        """
        holder: list[Bus] = []
        auth = auth or NatsAuth()

        async def on_error(exc: Exception) -> None:
            if type(exc).__name__ == "SlowConsumerError":
                if holder:
                    holder[0].slow_consumer_drops += 1
                return
            if holder and holder[0].security.is_violation(exc):
                holder[0].security.record(str(exc))
                return
            if not holder and _refused(exc):
                raise exc  # out of connect(): retrying a refused password never helps
            log.warning("nats error: %s: %s", type(exc).__name__, exc)

        nc = NatsClient()
        options: dict[str, Any] = {
            "name": name,
            "error_cb": on_error,
            "max_reconnect_attempts": -1,
            "reconnect_time_wait": 0.5,  # typed int by nats-py, used as seconds
            "connect_timeout": 5,
            "allow_reconnect": True,
            **auth.connect_options(),
        }
        servers = list(parse_servers(url))  # one server or a cluster's seed list
        try:
            await nc.connect(servers=servers, **options)
        except Exception as exc:
            try:
                await nc.close()
            except Exception:  # never connected: nothing to close
                pass
            raise ConnectFailed(url, auth.describe(), exc) from None
        bus = cls(nc, publish_timeout_s=publish_timeout_s, user=auth.user or "anonymous")
        holder.append(bus)
        return bus

    @property
    def connected(self) -> bool:
        return bool(self.nc.is_connected)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.security.close()
        try:
            await asyncio.wait_for(self.nc.drain(), timeout=5)
        except Exception:  # already closed, or the server is gone: nothing left to flush
            if not self.nc.is_closed:
                await self.nc.close()

    # --- JetStream publishing -------------------------------------------------------------

    async def publish(
        self, subject: str, envelope: Envelope[Any], msg_id: str | None = None
    ) -> int:
        """Publish and wait for the stream's acknowledgement; returns the stream sequence."""
        return await self.publish_raw(subject, encode(envelope), headers_for(envelope, msg_id))

    async def publish_raw(self, subject: str, payload: bytes, headers: dict[str, str]) -> int:
        try:
            ack = await self.js.publish(
                subject, payload, timeout=self.publish_timeout_s, headers=headers
            )
        except Exception as exc:
            raise PublishFailed(subject, exc) from exc
        return int(ack.seq)

    async def publish_pipelined(
        self, subject: str, payload: bytes, headers: dict[str, str]
    ) -> asyncio.Future[Any]:
        """Send without waiting; the returned future resolves with the PubAck.

        The window of outstanding acknowledgements is bounded (`PubAckWindow`), so a slow
        server slows the publisher instead of growing memory.
        """
        try:
            return await self._acks.publish(subject, payload, headers, self.publish_timeout_s)
        except Exception as exc:
            raise PublishFailed(subject, exc) from exc

    async def wait_acks(
        self, pending: Sequence[tuple[str, asyncio.Future[Any]]], timeout_s: float | None = None
    ) -> None:
        """Wait for every pipelined publish; raise PublishFailed on the first that failed."""
        if not pending:
            return
        # Awaited one by one, not gathered: a future already resolved costs no trip through
        # the event loop, and the last acknowledgement wakes us directly.
        try:
            async with asyncio.timeout(timeout_s or self.publish_timeout_s):
                for subject, future in pending:
                    try:
                        await future
                    except Exception as exc:
                        _settle(pending)
                        raise PublishFailed(subject, exc) from exc
        except TimeoutError as exc:
            for _, future in pending:
                future.cancel()
            raise PublishFailed(pending[0][0], exc) from exc

    # --- core NATS -------------------------------------------------------------------------

    async def core_publish(
        self, subject: str, payload: bytes, headers: dict[str, str] | None = None
    ) -> None:
        await self.nc.publish(subject, payload, headers=headers)

    async def subscribe(
        self,
        subject: str,
        cb: Callable[[Msg], Awaitable[None]],
        *,
        queue: str = "",
        pending_msgs_limit: int = 65536,
    ) -> Subscription:
        return await self.nc.subscribe(
            subject, queue=queue, cb=cb, pending_msgs_limit=pending_msgs_limit
        )

    async def request(self, subject: str, payload: bytes = b"", timeout_s: float = 2.0) -> Msg:
        return await self.nc.request(subject, payload, timeout=timeout_s)

    async def gather_replies(
        self, subject: str, payload: bytes = b"", window_s: float = 1.0
    ) -> list[Msg]:
        """Scatter-gather: every responder's reply within the window (one per process)."""
        inbox = self.nc.new_inbox()
        replies: list[Msg] = []
        first = asyncio.Event()

        async def on_reply(msg: Msg) -> None:
            if msg.headers and msg.headers.get("Status") == "503":
                first.set()  # no responders: nobody will answer
                return
            replies.append(msg)
            first.set()

        sub = await self.nc.subscribe(inbox, cb=on_reply)
        try:
            await self.nc.publish(subject, payload, reply=inbox)
            try:
                async with asyncio.timeout(window_s):
                    await first.wait()
                await asyncio.sleep(min(0.3, window_s))
            except TimeoutError:
                pass
        finally:
            await sub.unsubscribe()
        return replies

    # --- consumers and streams -------------------------------------------------------------

    async def ensure_consumer(
        self,
        stream: str,
        durable: str,
        subjects: Sequence[str],
        settings: ConsumerSettings,
        *,
        start_seq: int | None = None,
    ) -> None:
        """Create a durable pull consumer, or update its settings (its position is kept).

        `start_seq`: a consumer created now delivers from that stream sequence on.
        """
        config = js_api.ConsumerConfig(
            durable_name=durable,
            name=durable,
            ack_policy=js_api.AckPolicy.EXPLICIT,
            ack_wait=settings.ack_wait_s,
            max_deliver=-1,  # the runtime dead-letters after its own max_deliver
            max_ack_pending=settings.max_ack_pending,
            deliver_policy=(
                js_api.DeliverPolicy.NEW if settings.deliver_new else js_api.DeliverPolicy.ALL
            ),
        )
        if len(subjects) == 1:
            config.filter_subject = subjects[0]
        else:
            config.filter_subjects = list(subjects)
        try:
            info = await self.js.consumer_info(stream, durable)
        except NotFoundError:
            if start_seq is not None:
                config.deliver_policy = js_api.DeliverPolicy.BY_START_SEQUENCE
                config.opt_start_seq = max(1, start_seq)
            await self.js.add_consumer(stream, config=config)
        else:
            current = info.config
            if (
                current.ack_wait != config.ack_wait
                or current.max_ack_pending != config.max_ack_pending
                or (current.filter_subject or None) != (config.filter_subject or None)
                or (current.filter_subjects or None) != (config.filter_subjects or None)
            ):
                config.deliver_policy = current.deliver_policy
                await self.js.add_consumer(stream, config=config)  # create-or-update

    async def delete_consumer(self, stream: str, durable: str) -> bool:
        """Delete a durable consumer (with every pull request waiting on it); False if absent."""
        try:
            await self.js.delete_consumer(stream, durable)
        except NotFoundError:
            return False
        return True

    async def pull_consumer(
        self,
        stream: str,
        durable: str,
        subjects: Sequence[str],
        settings: ConsumerSettings,
    ) -> JetStreamContext.PullSubscription:
        """Ensure the durable consumer and bind a nats-py pull subscription to it.

        The caller owns the subscription and must `unsubscribe()` it.
        """
        await self.ensure_consumer(stream, durable, subjects, settings)
        return await self.js.pull_subscribe_bind(
            durable=durable, stream=stream, pending_msgs_limit=settings.max_ack_pending * 2
        )

    async def ensure_stream(self, spec: StreamSettings) -> str:
        """Create or update a stream to match `spec`: "created", "updated" or "unchanged"."""
        config = js_api.StreamConfig(
            name=spec.name,
            subjects=spec.subjects,
            storage=js_api.StorageType.FILE,
            num_replicas=spec.replicas,
            max_age=spec.max_age_s,
            max_bytes=spec.max_bytes,
            duplicate_window=spec.duplicate_window_s,
            retention=js_api.RetentionPolicy.LIMITS,
        )
        try:
            info = await self.js.stream_info(spec.name)
        except NotFoundError:
            await self.js.add_stream(config)
            return "created"
        cur = info.config
        same = (
            sorted(cur.subjects or []) == sorted(spec.subjects)
            and (cur.num_replicas or 1) == spec.replicas
            and float(cur.max_age or 0) == float(spec.max_age_s)
            and (cur.max_bytes or -1) == spec.max_bytes
            and float(cur.duplicate_window or 0) == float(spec.duplicate_window_s)
        )
        if same:
            return "unchanged"
        await self.js.update_stream(config)
        return "updated"

    async def key_value(self, bucket: str) -> KeyValue:
        """The KV bucket, created on first use (one revision per key is enough for state)."""
        try:
            return await self.js.key_value(bucket)
        except BucketNotFoundError:
            return await self.js.create_key_value(
                js_api.KeyValueConfig(bucket=bucket, history=1, description="alpha-panda state")
            )

    async def replay(
        self, stream: str, subjects: Sequence[str], start_seq: int, end_seq: int | None = None
    ) -> AsyncIterator[Msg]:
        """Yield the stream's messages on `subjects` from `start_seq` through `end_seq`
        (default: the last sequence now), in order, through an ordered consumer."""
        end = end_seq if end_seq is not None else await self.stream_last_seq(stream)
        if end < max(1, start_seq):
            return
        queue: asyncio.Queue[Msg] = asyncio.Queue(maxsize=4096)
        config = js_api.ConsumerConfig(
            deliver_policy=js_api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=max(1, start_seq),
            filter_subjects=list(subjects),
        )
        sub = await self.js.subscribe(
            subjects[0], stream=stream, ordered_consumer=True, config=config, cb=queue.put,
            idle_heartbeat=2.0, flow_control=True,
        )  # fmt: skip
        try:
            while True:
                msg = await _next_or_none(sub, queue)
                if msg is None:
                    return
                meta = msg.metadata
                seq = int(meta.sequence.stream)
                if seq > end:
                    return
                yield msg
                if seq >= end or int(meta.num_pending) == 0:
                    return
        finally:
            await sub.unsubscribe()

    async def stream_last_seq(self, stream: str) -> int:
        info = await self.js.stream_info(stream)
        return int(info.state.last_seq)
