"""The portfolio (one per broker): order events in, positions, PnL, ledger and read models.

Fills move positions and cash; every order event is appended to the ledger (PostgreSQL or
the file fallback), whose unique keys make a replayed event a no-op. The ledger is written
by group commit: a handler only stages its event's row, and `on_stored`, which the runtime
calls after a batch's outputs are stored and before the batch is acked or snapshotted,
writes the rows of the whole batch in one durable step (one transaction, or one fsync per
log), so the ledger's cost per fill falls as the fill rate rises. A crash before that step
loses nothing: the batch is redelivered and staged again. The book keeps one
position per (strategy, instrument) and sums them per instrument and per broker. Positions
are marked to the last tick of their instruments (never to a fill's price): the actor
decodes the ticks of held instruments only, but keeps the last delivered message of every
instrument undecoded, and marks a newly held instrument from it. So whatever order its two
consumers deliver in, a position is marked at the latest tick delivered, and at the last
tick of its instrument once the ticks are in (its consumer starts from the last of each).
Every `pnl_interval_s`, and once more when it stops, a `PnlSnapshot` goes to
`<broker>.pnl.snapshots` and to the read models, so the last one is never behind the ledger.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import msgspec
from nats.aio.msg import Msg

from actors.portfolio.book import REALIZED_QUANTUM, Portfolio
from actors.portfolio.desk import PortfolioDesk
from actors.stores.ledger_rows import FillRow, OrderRow, fill_row, order_row
from actors.stores.shared import Stores
from schemas.envelope import Envelope, decode_as, new_envelope
from schemas.errors import DecodeError
from schemas.events import Event, MarketTick, OrderFilled, PnlSnapshot
from schemas.names import (
    MARKET_STREAM,
    MARKET_TICKS_ALL,
    ORDERS_ACCEPTED,
    ORDERS_CANCELLED,
    ORDERS_FAILED,
    ORDERS_FILLED,
    ORDERS_SUBMITTED,
    PNL_SNAPSHOTS,
    TICK_PREFIX,
    Broker,
    broker_subject,
    portfolio_request_subject,
    stream_for_broker,
)
from supervisors.actor import Actor, Context, Durable, Input, Ordered, Request, Timer
from supervisors.bus import Bus
from supervisors.errors import Crash

__all__ = ["PortfolioActor", "PortfolioSnapshot"]

log = logging.getLogger(__name__)

_TICK_PREFIX = len(TICK_PREFIX)


class PortfolioSnapshot(msgspec.Struct, kw_only=True):
    """The portfolio's snapshot: its book as a PnL snapshot, and how many it published."""

    snapshot: PnlSnapshot
    snapshots: int = 0


class PortfolioActor(Actor):
    broker: Broker
    mailbox_size = 4096
    # the last actor of its broker's pipeline: execution has stopped when it stops, so the
    # fills it stored reach the ledger and the final snapshot now, not at the next start
    drain_on_stop_s = 5.0
    state_type = PortfolioSnapshot

    def __init__(
        self, broker: Broker, stores: Stores, *, starting_cash: Decimal, pnl_interval_s: float = 5.0
    ) -> None:
        self.broker = broker
        self.name = f"portfolio-{broker}"
        self.snapshot_key = f"portfolio-{broker}"
        self.stores = stores
        self.desk = PortfolioDesk(starting_cash)
        self.pnl_interval_s = pnl_interval_s
        self.last_seq = 0
        self.snapshots = 0
        self._bus: Bus | None = None
        self._unsaved: list[OrderRow | FillRow] = []  # ledger rows of the batch in hand
        self._held: set[str] = set()
        self._last_tick: dict[str, bytes] = {}  # subject -> the last message delivered
        self._stream = stream_for_broker(broker).name
        self._pnl_subject = broker_subject(broker, PNL_SNAPSHOTS)

    def inputs(self) -> Sequence[Input]:
        b = self.broker
        orders = tuple(
            broker_subject(b, e)
            for e in (ORDERS_SUBMITTED, ORDERS_ACCEPTED, ORDERS_FILLED, ORDERS_FAILED,
                      ORDERS_CANCELLED)
        )  # fmt: skip
        return (
            Durable(self._stream, orders, self.name, self.on_order_event, replay=True),
            Ordered(MARKET_STREAM.name, MARKET_TICKS_ALL, self.on_tick, MarketTick,
                    last_per_subject=True, accept=self._held_on, tap=self._see),
            Timer(self.pnl_interval_s, self.on_interval, name="pnl"),
            Request(portfolio_request_subject(b), self.on_request),
        )  # fmt: skip

    @property
    def book(self) -> Portfolio:
        return self.desk.book

    def _held_on(self, subject: str) -> bool:
        return subject[_TICK_PREFIX:] in self._held

    def _see(self, msg: Msg) -> None:
        """The tap: every tick delivered, kept raw (one per instrument), decoded only when
        its instrument becomes held."""
        self._last_tick[msg.subject] = msg.data

    def _follow_held(self, new: set[int]) -> None:
        """Track the held instruments; mark each new one from its last tick delivered."""
        for token in new:
            raw = self._last_tick.get(TICK_PREFIX + str(token))
            if raw is None:
                continue  # none delivered yet: the next one passes `_held_on`
            try:
                env = decode_as(raw, MarketTick)
            except DecodeError:  # the handler path dead-letters it; no mark from it
                continue
            self.desk.on_tick(env.data, env.ts)
        self._held = {str(t) for t in self.desk.held}

    async def on_start(self, bus: Bus) -> None:
        self._bus = bus
        self._unsaved = []  # a restarted instance: its inputs come again

    async def on_order_event(self, env: Envelope[Event], ctx: Context) -> None:
        try:
            if isinstance(env.data, OrderFilled):
                self._unsaved.append(fill_row(self.broker, env))
            else:
                self._unsaved.append(order_row(self.broker, env))
            await self.stores.read_models.write_order_event(self.broker, env)
        except Exception as exc:  # the store is down: restart and replay, never skip
            raise Crash(f"ledger/read model write failed: {type(exc).__name__}: {exc}") from exc
        self.last_seq = ctx.seq  # a PnL snapshot saves the ledger first: it says so
        self._follow_held(self.desk.on_order_event(env.data))

    async def on_stored(self, outputs: int) -> None:
        """The batch's ledger rows in one durable step, before its inputs are acked."""
        await self._save_ledger()

    async def _save_ledger(self) -> None:
        if not self._unsaved:
            return
        try:
            await (await self.stores.ledger()).record_rows(self._unsaved)
        except Exception as exc:  # the store is down: restart and replay, never skip
            raise Crash(f"ledger write failed: {type(exc).__name__}: {exc}") from exc
        self._unsaved = []

    async def on_tick(self, env: Envelope[MarketTick], ctx: Context) -> None:
        self.desk.on_tick(env.data, env.ts)

    async def on_interval(self, ctx: Context) -> None:
        await self._save_ledger()  # the snapshot's `last_seq` says the ledger has it
        snapshot = self.desk.snapshot(self.last_seq)
        ctx.emit(self._pnl_subject, snapshot, key=self.broker)
        self.snapshots += 1
        await self._write_read_models(snapshot)

    async def on_stop(self) -> None:
        """The final snapshot, after the last handler: to the stream and the read models."""
        if self._bus is None:
            return
        try:
            await self._save_ledger()  # nothing left unless the last batch failed
        except Crash as exc:
            log.warning("%s: no final PnL snapshot, the ledger is behind it: %s", self.name, exc)
            return
        snapshot = self.desk.snapshot(self.last_seq)
        env = new_envelope(snapshot, source=self.name, broker=self.broker, key=self.broker)
        try:
            await self._bus.publish(self._pnl_subject, env)
        except Exception as exc:  # stopping anyway; the next start snapshots again
            log.warning("%s: final PnL snapshot not published: %s", self.name, exc)
            return
        self.snapshots += 1
        await self._write_read_models(snapshot)

    async def _write_read_models(self, snapshot: PnlSnapshot) -> None:
        try:
            await self.stores.read_models.write_pnl(self.broker, snapshot)
            await self.stores.metrics.flush()
        except Exception as exc:  # read models are best effort; the stream has the snapshot
            log.warning("%s: read model write failed: %s", self.name, exc)

    async def on_request(self, body: bytes, ctx: Context) -> None:
        await self._save_ledger()
        snapshot = self.desk.snapshot(self.last_seq)
        ctx.respond(msgspec.json.encode(snapshot))

    def dump_state(self) -> PortfolioSnapshot:
        snapshot = self.desk.snapshot(self.last_seq)
        return PortfolioSnapshot(snapshot=snapshot, snapshots=self.snapshots)

    def load_state(self, state: PortfolioSnapshot) -> None:
        snapshot = state.snapshot
        held = self.desk.restore(snapshot)
        self.last_seq = snapshot.last_seq
        self.snapshots = state.snapshots
        self._follow_held(held)

    def stats(self) -> dict[str, Any]:
        """Money to the paisa: the book keeps every digit, a status line needs two."""
        positions = [p for p in self.book.positions() if p.quantity]
        return {
            "pipeline": {
                "open_positions": len(positions),
                "realized_pnl": _to_paisa(self.book.realized_pnl),
                "unrealized_pnl": _to_paisa(self.book.unrealized_pnl),
                "charges": _to_paisa(self.book.charges),
                "equity": _to_paisa(self.book.equity),
                "pnl_snapshots": self.snapshots,
                "strategies": {
                    s.strategy_id: {
                        "realized_pnl": _to_paisa(s.realized_pnl),
                        "unrealized_pnl": _to_paisa(s.unrealized_pnl),
                        "charges": _to_paisa(s.charges),
                        "fills": s.fills,
                    }
                    for s in self.book.strategies()
                },
            }
        }


def _to_paisa(value: Decimal) -> str:
    return str(value.quantize(REALIZED_QUANTUM, rounding=ROUND_HALF_EVEN))
