"""Zerodha execution: the execution shell (`actors.execution.actor`) on the Kite venue.

The desk's rules are the paper broker's (the order a validated signal becomes, the tick it
is priced on, limit-order expiry); the venue (`actors.kite.venue`) books each instruction
at once and its worker task does the Kite I/O off the mailbox. A timer in the mailbox
drains what the worker learned into order events, each with the domain dedup key of
`ExecutionActor._emit` (`zerodha:fill:<kite order>-T<trade>`, ...), so a fill reported
twice or replayed is stored once. A Kite fault never crashes the actor (its restarts
would escalate past the broker's subtree): the venue halts zerodha trading through
`control.halt.zerodha`, with the reason in status, and keeps trying Kite.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Sequence
from typing import Any

import msgspec

from actors.execution.actor import ExecutionActor
from actors.execution.desk import event_time
from actors.kite.feed import ORDER_UPDATE_LISTENERS
from actors.kite.order_updates import KiteOrder
from actors.kite.venue import KiteVenue
from actors.stores.pipeline_metrics import PipelineMetrics
from schemas.envelope import Envelope, new_envelope
from schemas.events import (
    AuditEvent,
    ControlCommand,
    Event,
    MarketTick,
    OrderSubmitted,
    ValidatedSignal,
)
from schemas.names import Broker, ControlVerb, audit_subject, control_subject
from supervisors.actor import Context, Input, Timer
from supervisors.bus import Bus

__all__ = ["KiteExecution", "KiteExecutionSnapshot"]

log = logging.getLogger(__name__)


class KiteExecutionSnapshot(msgspec.Struct, kw_only=True):
    """The open orders (their tags, Kite ids and trades seen), the event counts and the
    net position per instrument that reconciliation compares with Kite's."""

    orders: list[KiteOrder] = msgspec.field(default_factory=list)
    counts: tuple[int, int, int, int] = (0, 0, 0, 0)
    positions: dict[int, int] = msgspec.field(default_factory=dict)  # net, for reconciling


class KiteExecution(ExecutionActor):
    state_type = KiteExecutionSnapshot
    drain_interval_s = 0.05

    def __init__(
        self,
        broker: Broker,
        venue: KiteVenue,
        *,
        limit_ttl_s: float = 60.0,
        metrics: PipelineMetrics | None = None,
        tokens: Collection[int] = (),
    ) -> None:
        self.kite = venue
        super().__init__(broker, venue, limit_ttl_s=limit_ttl_s, metrics=metrics, tokens=tokens)
        self._bus: Bus | None = None
        self._worker: asyncio.Task[None] | None = None

    def inputs(self) -> Sequence[Input]:
        return (*super().inputs(), Timer(self.drain_interval_s, self.on_drain, name="kite-drain"))

    async def on_start(self, bus: Bus) -> None:
        await super().on_start(bus)
        self._bus = bus
        self.kite.on_halt = self._halt
        # the ticker feed's order updates (same process) wake the worker: no wait for a poll
        ORDER_UPDATE_LISTENERS.append(self.kite.on_order_update)
        # before the replay: nothing is placed until the worker has read Kite's orders
        self._worker = asyncio.create_task(self.kite.run(), name=f"{self.name}:kite-worker")

    async def on_stop(self) -> None:
        with contextlib.suppress(ValueError):
            ORDER_UPDATE_LISTENERS.remove(self.kite.on_order_update)
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def on_stored(self, outputs: int) -> None:
        """The submitted orders are in the stream: now they may be placed at Kite."""
        self.kite.release()

    async def _halt(self, reason: str) -> None:
        """Zerodha trading HALTED through the control path (risk then validates nothing)."""
        if self._bus is None:
            return
        cmd = ControlCommand(verb=ControlVerb.HALT, broker=self.broker, reason=reason,
                             requested_by=f"execution:{self.broker}")  # fmt: skip
        env = new_envelope(cmd, source=self.name, broker=self.broker, key=self.broker)
        await self._bus.publish(control_subject(ControlVerb.HALT, self.broker), env)
        # the audit stream keeps why, with the differences when a reconciliation failed
        detail = {"broker": self.broker, "reason": reason}
        recon = self.kite.reconciliation
        if recon is not None and not recon.ok:
            detail["reconciliation"] = msgspec.json.encode(recon.to_status()).decode()
        audit = AuditEvent(kind="halt", actor=f"execution:{self.broker}", detail=detail)
        await self._bus.publish(
            audit_subject("halt"),
            new_envelope(audit, source=self.name, broker=self.broker, key=self.broker),
        )

    async def _submit(self, validated: ValidatedSignal, ts: int, ctx: Context) -> None:
        coid = validated.client_order_id
        if self.desk.knows(coid):  # redelivered in this process: its first answer
            for event in self.kite.answer(coid):
                self._emit(ctx, event)
            return
        market = await self.ticks.named_by(validated.signal, ctx.stored_ms)
        instruction = self.desk.place(validated, market, ts)
        answer = await self.kite.execute(instruction, redelivered=ctx.attempt > 1)
        order: Event = instruction.order
        tag = self.kite.tag_for(coid)
        if isinstance(order, OrderSubmitted) and tag:
            order = msgspec.structs.replace(order, tag=tag)
        for event in (order, *answer):
            self._emit(ctx, event)

    async def on_tick(self, env: Envelope[MarketTick], ctx: Context) -> None:
        """Kite fills on its own market; our ticks only expire resting limit orders."""
        now = event_time(env.data, env.ts)
        for cancel in self.desk.expiries(env.data.instrument_token, now):
            await self.kite.execute(cancel)
        self._refresh_resting()

    async def on_drain(self, ctx: Context) -> None:
        for event in self.kite.drain():
            self._emit(ctx, event)
        if self._worker is not None and self._worker.done() and not self._worker.cancelled():
            self._worker.result()  # the worker died: crash the actor with its error

    def dump_state(self) -> KiteExecutionSnapshot:
        return KiteExecutionSnapshot(
            orders=self.kite.orders_state(),
            counts=(self.orders, self.fills, self.failed, self.cancelled),
            positions=dict(self.kite.positions),
        )

    def load_state(self, state: KiteExecutionSnapshot) -> None:
        self.kite.restore_orders(state.orders)
        self.kite.positions = dict(state.positions)
        self.orders, self.fills, self.failed, self.cancelled = state.counts
        self._refresh_resting()

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        out["kite"] = self.kite.stats()
        return out
