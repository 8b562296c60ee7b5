"""How each kind of input is handled: decode, call the actor's handler, collect its
outputs, and dead-letter what cannot be handled. `ActorProcess` owns the mailbox loop and
the acks; this module owns the verdict on one input."""

from __future__ import annotations

import base64
import json
import logging
from typing import TYPE_CHECKING, Any

from nats.aio.msg import Msg

from schemas.envelope import HDR_TYPE, Envelope, decode, decode_as, new_envelope
from schemas.errors import DecodeError
from schemas.events import DeadLetter
from schemas.names import dlq_subject
from supervisors.acks import parse_ack_subject
from supervisors.actor import Actor, Context, CoreSub, Durable, Ordered, Output, Request, Timer
from supervisors.errors import Crash, is_retriable
from supervisors.intake import Delivery
from supervisors.telemetry import tracing
from supervisors.telemetry.metrics import ActorMetrics

if TYPE_CHECKING:
    from opentelemetry.trace import Span

__all__ = ["ActorStats", "Handling"]

log = logging.getLogger(__name__)


def _stored_ms(msg: Msg) -> int:
    """When the stream stored a JetStream message (the server's clock); 0 when unknown."""
    try:
        return parse_ack_subject(msg.reply).ts_ms
    except ValueError:
        return 0


class ActorStats:
    """Counters of one actor instance, for the status tree."""

    __slots__ = (
        "consumer_pending",
        "dead_lettered",
        "failed",
        "invalid",
        "last_error",
        "last_seq",
        "outputs",
        "processed",
        "skipped",
    )

    def __init__(self) -> None:
        self.processed = 0
        self.failed = 0
        self.dead_lettered = 0
        self.invalid = 0
        self.outputs = 0
        self.skipped = 0  # ordered inputs its `accept` refused before they were queued
        self.consumer_pending = 0
        self.last_seq = 0
        self.last_error: str | None = None


class Handling:
    """The verdict on one input of one actor instance.

    `applied_seq` is, for a stateful actor, the highest stream sequence its state includes:
    durable inputs at or below it are acked without being handled again.
    """

    def __init__(self, actor: Actor, stats: ActorStats, metrics: ActorMetrics) -> None:
        self.actor = actor
        self.name = actor.name
        self.stats = stats
        self.metrics = metrics
        self.applied_seq = 0

    async def durable(
        self, inp: Durable[Any], msg: Msg, outputs: list[Output], to_ack: list[Msg] | None
    ) -> None:
        """Handle one durable input; `to_ack` None means a replay (nothing to ack or nak)."""
        meta = msg.metadata
        seq = int(meta.sequence.stream)
        replaying = to_ack is None
        attempt = 1 if replaying else int(meta.num_delivered)
        if to_ack is None:
            to_ack = []
        else:
            self.stats.consumer_pending = int(meta.num_pending)
        self.stats.last_seq = seq
        if inp.replay:
            if not replaying and seq <= self.applied_seq:
                to_ack.append(msg)  # already in our state (snapshot or replay)
                return
            self.applied_seq = max(self.applied_seq, seq)
        if attempt > inp.max_redeliver:
            self.dead_letter(
                msg,
                outputs,
                attempt,
                "DeliveryLimit",
                f"delivered {attempt} times (max_redeliver {inp.max_redeliver}) without a "
                f"verdict; last error: {self.stats.last_error or 'the actor crashed'}",
                seq,
            )
            to_ack.append(msg)
            return
        try:
            env = self._decode(msg, inp.event)
        except DecodeError as exc:
            self.stats.invalid += 1
            self.dead_letter(msg, outputs, attempt, "DecodeError", str(exc), seq)
            to_ack.append(msg)
            return
        ctx = Context(
            self.name, self.actor.broker, env, subject=msg.subject, seq=seq, attempt=attempt,
            stored_ms=_stored_ms(msg),
        )  # fmt: skip
        span = self._span(msg, env, ctx) if tracing.TRACER is not None else None
        try:
            await inp.handler(env, ctx)
        except Crash as exc:
            if span is not None:
                tracing.end_span(span, exc)
            raise
        except Exception as exc:
            if span is not None:
                tracing.end_span(span, exc)
            self.failed(exc)
            # Retrying cannot help a non-retriable error (invalid input: the same bytes fail
            # the same way), nor a stateful actor's handler, which is deterministic and whose
            # replayed state a retry out of stream order would break.
            if attempt >= inp.max_deliver or inp.replay or not is_retriable(exc):
                self.dead_letter(msg, outputs, attempt, type(exc).__name__, str(exc), seq)
                to_ack.append(msg)
            else:
                await msg.nak(delay=min(0.05 * 2**attempt, 5.0))
            return
        if span is not None:
            span.end()
        outputs.extend(ctx.outputs)
        to_ack.append(msg)

    async def core(self, inp: CoreSub[Any], msg: Msg, outputs: list[Output]) -> None:
        await self._once(inp, msg, outputs, 0)

    async def ordered(self, inp: Ordered[Any], delivery: Delivery, outputs: list[Output]) -> None:
        """An input from the process's intake: read and decoded once for every actor."""
        seq = delivery.seq
        self.stats.last_seq = seq
        self.stats.consumer_pending = delivery.pending
        if inp.resume:
            self.applied_seq = seq
        msg = delivery.msg
        if inp.accept is not None and not inp.accept(msg.subject):
            return
        env = delivery.envelope(inp.event)
        if isinstance(env, DecodeError):
            self.stats.invalid += 1
            self.dead_letter(msg, outputs, 1, "DecodeError", str(env), seq)
            return
        await self._handle_once(inp, msg, env, outputs, seq, delivery.stored_ms)

    async def _once(
        self,
        inp: CoreSub[Any] | Ordered[Any],
        msg: Msg,
        outputs: list[Output],
        seq: int,
        stored_ms: int = 0,
    ) -> None:
        """An input that is never redelivered: any failure dead-letters it at once."""
        try:
            env = self._decode(msg, inp.event)
        except DecodeError as exc:
            self.stats.invalid += 1
            self.dead_letter(msg, outputs, 1, "DecodeError", str(exc), seq)
            return
        await self._handle_once(inp, msg, env, outputs, seq, stored_ms)

    async def _handle_once(
        self,
        inp: CoreSub[Any] | Ordered[Any],
        msg: Msg,
        env: Envelope[Any],
        outputs: list[Output],
        seq: int,
        stored_ms: int,
    ) -> None:
        ctx = Context(
            self.name, self.actor.broker, env, subject=msg.subject, seq=seq, stored_ms=stored_ms
        )
        span = self._span(msg, env, ctx) if tracing.TRACER is not None else None
        try:
            await inp.handler(env, ctx)
        except Crash as exc:
            if span is not None:
                tracing.end_span(span, exc)
            raise
        except Exception as exc:
            if span is not None:
                tracing.end_span(span, exc)
            self.failed(exc)
            self.dead_letter(msg, outputs, 1, type(exc).__name__, str(exc), seq)
            return
        if span is not None:
            span.end()
        outputs.extend(ctx.outputs)

    async def request(
        self, inp: Request, msg: Msg, outputs: list[Output], replies: list[tuple[str, bytes]]
    ) -> None:
        headers = {str(k): str(v) for k, v in (msg.headers or {}).items()}
        ctx = Context(
            self.name, self.actor.broker, subject=msg.subject, reply_to=msg.reply or "",
            headers=headers,
        )  # fmt: skip
        try:
            await inp.handler(msg.data, ctx)
        except Crash:
            raise
        except Exception as exc:
            self.failed(exc)
            if msg.reply:
                body = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                replies.append((msg.reply, json.dumps(body).encode()))
            return
        outputs.extend(ctx.outputs)
        replies.extend(ctx.replies)

    async def timer(self, timer: Timer, outputs: list[Output]) -> None:
        ctx = Context(self.name, self.actor.broker)
        try:
            await timer.handler(ctx)
        except Crash:
            raise
        except Exception as exc:
            self.failed(exc)
            log.exception("%s: timer %s failed", self.name, timer.name)
            return
        outputs.extend(ctx.outputs)

    def _span(self, msg: Msg, env: Envelope[Any], ctx: Context) -> Span | None:
        """Tracing on: the span of this handling, whose traceparent the outputs carry."""
        assert tracing.TRACER is not None  # the caller checks: off costs one global read
        span = tracing.handling_span(
            tracing.TRACER, self.name, msg.subject, env.trace, self.actor.broker
        )
        if span is not None:
            ctx.trace = tracing.traceparent(span)
        return span

    @staticmethod
    def _decode(msg: Msg, event: Any) -> Envelope[Any]:
        if event is not None:
            return decode_as(msg.data, event)
        type_name = msg.headers.get(HDR_TYPE) if msg.headers else None
        return decode(msg.data, type_name)

    def failed(self, exc: Exception) -> None:
        self.stats.failed += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        self.metrics.failed.inc()

    def dead_letter(
        self,
        msg: Msg,
        outputs: list[Output],
        attempts: int,
        error_type: str,
        error: str,
        seq: int,
    ) -> None:
        try:
            payload, encoding = msg.data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            payload, encoding = base64.b64encode(msg.data).decode(), "base64"
        letter = DeadLetter(
            original_subject=msg.subject,
            error=error,
            error_type=error_type,
            actor=self.name,
            attempts=attempts,
            headers={str(k): str(v) for k, v in (msg.headers or {}).items()},
            payload=payload,
            payload_encoding=encoding,
            stream_seq=seq,
        )
        env = new_envelope(letter, source=self.name, broker=self.actor.broker, key=msg.subject)
        # Dedup key: the same input dead-lettered twice (crash before its ack) is stored once.
        msg_id = f"dlq:{msg.subject}:{seq}" if seq else f"dlq:{env.id}"
        outputs.append(Output(dlq_subject(msg.subject), env, msg_id))
        self.stats.dead_lettered += 1
        self.metrics.dead_lettered.inc()
        self.actor.on_dead_letter(msg.subject, error_type)
        log.warning(
            "%s: dead-lettered %s (seq %s) after %d attempt(s): %s: %s",
            self.name,
            msg.subject,
            seq,
            attempts,
            error_type,
            error,
        )
