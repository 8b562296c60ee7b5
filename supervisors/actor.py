"""The `Actor` base: a small class whose handlers are plain async methods.

An actor declares its inputs (durable JetStream consumers, core subscriptions, timers);
the runtime (`supervisors.runner.ActorProcess`) owns every task, feeds one bounded mailbox,
calls one handler at a time, publishes what the handler emitted, and acks the input only
after every output is stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from schemas.envelope import Envelope, new_envelope
from schemas.events import Event

if TYPE_CHECKING:
    from nats.aio.msg import Msg

    from supervisors.bus import Bus

__all__ = [
    "Actor",
    "Context",
    "Durable",
    "CoreSub",
    "Timer",
    "Request",
    "Ordered",
    "Source",
    "Input",
    "Output",
    "Handler",
]

E = TypeVar("E", bound=Event)
Handler = Callable[[Envelope[E], "Context"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Output:
    subject: str
    envelope: Envelope[Any]
    msg_id: str


class Context:
    """What a handler may do: read its input's delivery facts and emit outputs.

    Outputs are buffered and published by the runtime after the handler returns, with
    `Nats-Msg-Id = <input id>:<actor>:<n>`, so a redelivered input whose handler emits the
    same outputs produces no duplicate downstream.
    """

    __slots__ = (
        "actor",
        "attempt",
        "broker",
        "headers",
        "input",
        "outputs",
        "replies",
        "reply_to",
        "seq",
        "stored_ms",
        "subject",
        "trace",
    )

    def __init__(
        self,
        actor: str,
        broker: str | None,
        input: Envelope[Any] | None = None,
        *,
        subject: str = "",
        seq: int = 0,
        attempt: int = 1,
        reply_to: str = "",
        headers: dict[str, str] | None = None,
        stored_ms: int = 0,
    ) -> None:
        self.actor = actor
        self.broker = broker
        self.input = input
        self.subject = subject
        self.seq = seq
        self.attempt = attempt
        self.reply_to = reply_to
        self.headers = headers or {}
        self.stored_ms = stored_ms  # when JetStream stored the input (server clock), 0: not known
        # the traceparent outputs carry: the handling span's when tracing is on, else the input's
        self.trace = ""
        self.outputs: list[Output] = []
        self.replies: list[tuple[str, bytes]] = []

    def respond(self, payload: bytes) -> None:
        """Answer a request; sent only after every output of this handler is stored."""
        if self.reply_to:
            self.replies.append((self.reply_to, payload))

    def emit(
        self,
        subject: str,
        data: Event,
        *,
        key: str = "",
        broker: str | None = None,
        ts: int | None = None,
        msg_id: str | None = None,
    ) -> Envelope[Any]:
        """Buffer an output. `msg_id` overrides the default dedup key with a domain key
        (a fill id, say) when the same fact may be produced from different inputs."""
        env = new_envelope(
            data, source=self.actor, broker=broker or self.broker, key=key, cause=self.input,
            ts=ts, trace=self.trace,
        )  # fmt: skip
        if msg_id is None:
            if self.input is not None:
                msg_id = f"{self.input.id}:{self.actor}:{len(self.outputs)}"
            else:
                msg_id = env.id
        self.outputs.append(Output(subject, env, msg_id))
        return env


@dataclass(frozen=True, slots=True)
class Durable(Generic[E]):
    """A durable JetStream pull consumer with explicit ack.

    `event` is the payload type to decode (None: any registered type, chosen by the
    message's type). After `max_deliver` failed attempts the input goes to `dlq.<subject>`.
    """

    stream: str
    subjects: tuple[str, ...]
    durable: str
    handler: Handler[E]
    event: type[E] | None = None
    max_deliver: int = 5
    # Deliveries without a verdict (the actor crashed or stalled past ack_wait) before an
    # input is dead-lettered unhandled. Separate from `max_deliver` because a crash caused
    # by one input redelivers its whole batch: innocent inputs must not run out of tries.
    max_redeliver: int = 25
    ack_wait_s: float = 30.0
    max_ack_pending: int = 1024
    batch: int = 128
    deliver_new: bool = False
    replay: bool = False  # stateful: rebuild from the actor's snapshot plus a stream replay


@dataclass(frozen=True, slots=True)
class CoreSub(Generic[E]):
    """A plain NATS subscription: no ack, no redelivery; an undecodable envelope or a
    failing handler dead-letters the message."""

    subject: str
    handler: Handler[E]
    event: type[E] | None = None
    queue: str = ""


@dataclass(frozen=True, slots=True)
class Request:
    """Request/reply on a core subject: the handler gets the body bytes and answers with
    `ctx.respond(...)`, which is sent after the handler's outputs are stored."""

    subject: str
    handler: Callable[[bytes, Context], Awaitable[None]]
    queue: str = ""


@dataclass(frozen=True, slots=True)
class Ordered(Generic[E]):
    """An ordered consumer (ephemeral, no acks, gap-free: the client recreates it at the
    next sequence when it sees a gap). Used for ticks into strategies.

    Every `Ordered` input of a process on the same stream and subject shares one consumer,
    the process's intake (`supervisors.intake`): each message is read and decoded once and
    handed to each actor's mailbox, each actor keeping its own start, order and backpressure.

    `start_seq()` is called when the input is bound: a stream sequence to start at, or 0
    for new messages only. `last_per_subject` starts with the last message of every subject.
    With `resume` (stateful actors) it starts right after the sequence of the restored
    snapshot, so the state catches up with everything it missed.
    """

    stream: str
    subject: str
    handler: Handler[E]
    event: type[E] | None = None
    start_seq: Callable[[], int] | None = None
    last_per_subject: bool = False
    accept: Callable[[str], bool] | None = None  # cheap subject filter, before decoding
    resume: bool = False  # stateful actor: start after the snapshot's sequence
    # Sees every delivered message first, in the client's callback, before `accept` and the
    # mailbox: for a cache of immutable stream messages (the ticks a signal may name), which
    # no handler needs to see in order. It must be cheap and must not raise.
    tap: Callable[[Msg], None] | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """A producer loop owned by the actor's task group (the market feed). Returning ends
    the source; raising crashes the actor."""

    run: Callable[[Bus], Awaitable[None]]
    name: str = "source"


@dataclass(frozen=True, slots=True)
class Timer:
    """A periodic call of `handler(ctx)` inside the actor's mailbox (no concurrent handlers)."""

    interval_s: float
    handler: Callable[[Context], Awaitable[None]]
    name: str = "timer"


Input = Durable[Any] | CoreSub[Any] | Ordered[Any] | Request | Source | Timer


class Actor:
    """Base of every actor. Subclasses set `name`, declare `inputs()` and write handlers.

    A stateful actor sets `snapshot_key` and `state_type` (a Struct, or any type msgspec
    decodes) and implements
    `dump_state` / `load_state`. The runtime then stores `{"seq", "state"}` in the KV
    bucket every `snapshot_interval_s`
    (from inside the mailbox, so the state and the sequence agree), and on start loads the
    snapshot and replays its `Durable(replay=True)` input's stream after that sequence
    through the handlers before going live. Outputs of the replay dedup on their msg ids.
    """

    name: str = "actor"
    broker: str | None = None
    mailbox_size: int = 1024
    snapshot_key: str | None = None
    snapshot_interval_s: float = 2.0
    state_type: Any = None
    # On a graceful stop, keep handling durable inputs for up to this long until their
    # consumers have nothing pending (0: stop at once, queued inputs go back to the server).
    # For the end of a pipeline (the portfolio), whose producers stop before it: what they
    # stored is then in its books before it stops, not only after the next start.
    drain_on_stop_s: float = 0.0

    def dump_state(self) -> object:
        """The state for the snapshot, a `state_type` (stateful actors only)."""
        raise NotImplementedError(f"{type(self).__name__} sets snapshot_key but no dump_state")

    def load_state(self, state: Any) -> None:
        """Restore what `dump_state` returned, decoded as `state_type` (stateful actors)."""

    def inputs(self) -> Sequence[Input]:
        return ()

    async def on_start(self, bus: Bus) -> None:
        """Before any input is bound: rebuild state (snapshot + replay), open connections."""

    async def on_stored(self, outputs: int) -> None:
        """After a batch's outputs are stored (live or in a replay), before its inputs are
        acked and before the state is snapshotted: where an actor makes its own writes
        durable in one step per batch."""

    async def on_stop(self) -> None:
        """After the last handler returned; time-limited by the child's shutdown timeout."""

    def on_dead_letter(self, subject: str, error_type: str) -> None:
        """An input on `subject` went to the DLQ (`error_type`: why); for the actor's own
        counts, such as the invalid ticks a strategy runner refused."""

    def stats(self) -> dict[str, Any]:
        """Extra figures for the status tree (per-actor counters, positions, ...)."""
        return {}
