"""One intake per stream and subject per process: one ordered consumer, fanned out in-process.

Several actors of a process follow the same stream (every actor of a broker follows the
ticks on `MARKET`). Each used to have its own ordered consumer, so every tick crossed the
socket, was parsed by nats-py and decoded once per actor. An `Intake` holds one ordered
consumer for all of them: each message's delivery facts are read once (`Delivery`), its
body is decoded at most once per payload type, and each member actor gets it through its
`Sink` (the actor's bounded mailbox, its `tap`, its `accept` filter).

Each member keeps its own position (`next_seq`) and its own backpressure. The intake never
waits for a member: a member whose mailbox is full, or that must start before the intake's
position (a stateful actor resuming after its snapshot, a start at the last message of
every subject), reads from a private ordered consumer of its own (`Member.run`, in the
actor's task group) until it has reached the intake's position, then rejoins it. A member
sees every message after its start exactly once and in stream order, whichever way it
came; a slow actor slows only itself.

The subjects an intake reads are the declared subject by default; a process may read a
narrower set (`Intakes.route`: a strategy shard's partition of the instruments).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from nats.aio.msg import Msg
from nats.js import api as js_api

from schemas.envelope import HDR_TYPE, Envelope, decode, decode_as
from schemas.errors import DecodeError
from supervisors.acks import parse_ack_subject

if TYPE_CHECKING:
    from nats.js.client import JetStreamContext

    from supervisors.bus import Bus

__all__ = ["Delivery", "Sink", "Member", "Intake", "Intakes"]

log = logging.getLogger(__name__)

#: messages the intake's client may hold before the intake has handed them on (it never
#: waits for a member, so this is only a burst from the socket)
INTAKE_PENDING_MSGS = 65_536


class Delivery:
    """One stream message as a consumer delivered it: its sequence, pending count and store
    time read once from the reply subject, its body decoded once per payload type and
    shared by every member (envelopes are frozen; handlers must not mutate what they get)."""

    __slots__ = ("_decoded", "_event", "msg", "pending", "seq", "stored_ms")

    def __init__(self, msg: Msg, seq: int, pending: int, stored_ms: int) -> None:
        self.msg = msg
        self.seq = seq
        self.pending = pending
        self.stored_ms = stored_ms
        self._event: Any = None
        self._decoded: Envelope[Any] | DecodeError | None = None

    @classmethod
    def of(cls, msg: Msg) -> Delivery | None:
        """The delivery of a consumer's message; None when it carries no ack subject."""
        try:
            meta = parse_ack_subject(msg.reply)
        except ValueError:
            return None
        return cls(msg, meta.stream_seq, meta.pending, meta.ts_ms)

    @property
    def subject(self) -> str:
        return self.msg.subject

    def envelope(self, event: Any) -> Envelope[Any] | DecodeError:
        """The body decoded as `event` (None: by the message's type header), or why not."""
        decoded = self._decoded
        if decoded is None or self._event is not event:
            msg = self.msg
            try:
                if event is not None:
                    decoded = decode_as(msg.data, event)
                else:
                    type_name = msg.headers.get(HDR_TYPE) if msg.headers else None
                    decoded = decode(msg.data, type_name)
            except DecodeError as exc:
                decoded = exc
            self._event, self._decoded = event, decoded
        return decoded


class Sink(Protocol):
    """Where a member's deliveries go: the actor's tap, filter and mailbox."""

    def offer(self, delivery: Delivery) -> bool:
        """Take it without waiting; False (and nothing done) when there is no room now."""

    async def deliver(self, delivery: Delivery) -> None:
        """Take it, waiting for room."""


class Member:
    """One actor input in an intake. `run()` must be owned by the actor's task group: it
    hands on what waited for room and does the member's catch-up reads, and its failure
    is the actor's."""

    def __init__(self, intake: Intake, sink: Sink, *, label: str = "", backlog: int = 0) -> None:
        self.intake = intake
        self.sink = sink
        self.label = label or "member"
        self.live = True  # handed messages by the intake; else catching up on its own
        self.next_seq = 1  # the first stream sequence it has not been handed (or held)
        self.catch_ups = 0  # times it read from a consumer of its own
        # What arrived while the mailbox was full, in order, bounded: a burst waits here
        # (as it would in a client's pending queue); past the bound the member catches up.
        self.backlog: deque[Delivery] = deque()
        self.backlog_limit = backlog or intake.catch_up_pending
        self.draining = False  # `run` is handing the backlog on: new messages queue behind
        self._last_per_subject = False
        self._wake = asyncio.Event()

    def take(self, delivery: Delivery) -> None:
        """The intake's hand-off of the next message (live members only)."""
        if not self.draining and self.sink.offer(delivery):
            self.next_seq = delivery.seq + 1
        elif len(self.backlog) < self.backlog_limit:
            self.backlog.append(delivery)
            self.next_seq = delivery.seq + 1
            self.draining = True
            self._wake.set()
        else:  # too far behind: it reads this one and what follows on its own
            self.fall_behind()

    def fall_behind(self, *, last_per_subject: bool = False) -> None:
        self.live = False
        self._last_per_subject = last_per_subject
        self._wake.set()

    async def run(self) -> None:
        backlog = self.backlog
        while True:
            await self._wake.wait()
            self._wake.clear()
            while backlog:
                await self.sink.deliver(backlog.popleft())
            self.draining = False
            if not self.live:
                await self._catch_up()

    async def _catch_up(self) -> None:
        """Read from a private ordered consumer until at the intake's position, then go live."""
        intake = self.intake
        caught_up = asyncio.Event()
        self.catch_ups += 1

        async def on_msg(msg: Msg) -> None:
            if self.live:
                return  # rejoined: what the private consumer still holds is not needed
            delivery = Delivery.of(msg)
            if delivery is None or delivery.seq < self.next_seq:
                return
            await self.sink.deliver(delivery)
            self.next_seq = delivery.seq + 1
            # Everything the intake handed on while we read is at or below its position:
            # once we are there, the intake's next message is our next one.
            if delivery.seq >= intake.last_seq:
                self.live = True
                caught_up.set()

        if self._last_per_subject:
            config = js_api.ConsumerConfig(deliver_policy=js_api.DeliverPolicy.LAST_PER_SUBJECT)
        else:
            config = js_api.ConsumerConfig(
                deliver_policy=js_api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self.next_seq
            )
        self._last_per_subject = False
        sub = await intake.subscribe(config, on_msg, pending_msgs=intake.catch_up_pending)
        try:
            await caught_up.wait()
        finally:
            try:
                await sub.unsubscribe()
            except Exception:  # the connection is gone: nothing left to unsubscribe
                pass


class Intake:
    """The one ordered consumer of `subjects` on `stream` in this process, and its members."""

    def __init__(
        self, bus: Bus, stream: str, subjects: Sequence[str], *, catch_up_pending: int = 32_768
    ) -> None:
        if not subjects:
            raise ValueError(f"an intake of {stream} needs at least one subject")
        self.bus = bus
        self.stream = stream
        self.subjects = tuple(subjects)
        self.catch_up_pending = catch_up_pending
        self.last_seq = 0  # the highest stream sequence the intake has handed on (or passed)
        self.delivered = 0
        self._members: tuple[Member, ...] = ()
        self._sub: JetStreamContext.PushSubscription | None = None

    @property
    def members(self) -> tuple[Member, ...]:
        return self._members

    async def open(self) -> None:
        """Start the consumer right after the stream's last message now: the intake's
        position is then exact from the start, and a member starting earlier catches up."""
        if self._sub is not None:
            return
        last = await self.bus.stream_last_seq(self.stream)
        config = js_api.ConsumerConfig(
            deliver_policy=js_api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=last + 1
        )
        self.last_seq = last
        self._sub = await self.subscribe(config, self._on_msg, pending_msgs=INTAKE_PENDING_MSGS)

    async def close(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            try:
                await sub.unsubscribe()
            except Exception:  # connection already closed
                pass

    async def subscribe(
        self, config: js_api.ConsumerConfig, cb: Any, *, pending_msgs: int
    ) -> JetStreamContext.PushSubscription:
        """An ordered consumer of this intake's subjects (the intake's own, or a catch-up)."""
        if len(self.subjects) > 1:
            config.filter_subjects = list(self.subjects)
        sub: JetStreamContext.PushSubscription = await self.bus.js.subscribe(
            self.subjects[0], stream=self.stream, ordered_consumer=True, config=config, cb=cb,
            idle_heartbeat=2.0, flow_control=True, pending_msgs_limit=pending_msgs,
        )  # fmt: skip
        return sub

    def join(
        self, sink: Sink, *, start_seq: int = 0, last_per_subject: bool = False, label: str = ""
    ) -> Member:
        """A new member: from the next message (start_seq 0), from `start_seq`, or from the
        last message of every subject. Its `run()` must then be started."""
        member = Member(self, sink, label=label)
        if last_per_subject:
            member.fall_behind(last_per_subject=True)
        elif 0 < start_seq <= self.last_seq:
            member.next_seq = start_seq
            member.fall_behind()
        else:
            member.next_seq = max(start_seq, self.last_seq + 1)
        self._members = (*self._members, member)
        return member

    def leave(self, member: Member) -> None:
        self._members = tuple(m for m in self._members if m is not member)

    async def _on_msg(self, msg: Msg) -> None:
        delivery = Delivery.of(msg)
        if delivery is None:
            return
        seq = delivery.seq
        self.last_seq = seq
        self.delivered += 1
        for member in self._members:
            if member.live and seq >= member.next_seq:
                member.take(delivery)


class Intakes:
    """This process's intakes, one per (stream, declared subject), opened on first use and
    closed when their last member leaves."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self._open: dict[tuple[str, str], Intake] = {}
        self._keys: dict[int, tuple[str, str]] = {}
        self._routes: dict[tuple[str, str], tuple[str, ...]] = {}
        self._lock = asyncio.Lock()

    def route(self, stream: str, subject: str, subjects: Sequence[str]) -> None:
        """Read `subjects` (a part of `subject`) for the inputs that declare `subject`:
        this process handles only those (set before the actors start)."""
        if not subjects:
            raise ValueError(f"a route of {stream} {subject} needs at least one subject")
        self._routes[(stream, subject)] = tuple(subjects)

    def subjects_for(self, stream: str, subject: str) -> tuple[str, ...]:
        return self._routes.get((stream, subject), (subject,))

    def get(self, stream: str, subject: str) -> Intake | None:
        return self._open.get((stream, subject))

    async def join(
        self, stream: str, subject: str, sink: Sink, *, start_seq: int = 0,
        last_per_subject: bool = False, label: str = "",
    ) -> Member:  # fmt: skip
        key = (stream, subject)
        async with self._lock:
            intake = self._open.get(key)
            if intake is None:
                intake = Intake(self._bus, stream, self.subjects_for(stream, subject))
                await intake.open()
                self._open[key] = intake
                self._keys[id(intake)] = key
            return intake.join(
                sink, start_seq=start_seq, last_per_subject=last_per_subject, label=label
            )

    async def leave(self, member: Member) -> None:
        intake = member.intake
        intake.leave(member)
        async with self._lock:
            key = self._keys.get(id(intake))
            if key is not None and not intake.members and self._open.get(key) is intake:
                del self._open[key], self._keys[id(intake)]
                await intake.close()
