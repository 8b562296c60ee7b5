"""The zerodha venue: the `AsyncVenue` protocol on Kite Connect, never placing an order twice.

`execute` only books an instruction and returns at once (with a refusal, if there is one);
`release()`, called once the actor has stored the events of what it booked, lets those
orders go, so our stream names every order before Kite holds it. The Kite I/O runs in the
venue's worker task (`run`), whose calls go to a thread of their own (`actors.kite.calls`),
so the execution actor's mailbox never waits on Kite. What the worker learns is queued as
observations; `drain()` (called from the actor's mailbox) applies them to the book
through the paper order state machine and returns the events, so the book a snapshot
saves never runs ahead of the events stored.

The rules that keep every order at Kite exactly once (docs/zerodha.md, "Execution"):
- every order carries `tag_of(client_order_id)`; nothing is placed before the venue has
  read Kite's orders once (the start lookup), and an order whose tag Kite already holds
  is adopted, not placed;
- an ambiguous placement (timeout, reset, 5xx) is looked up by tag before anything else;
  only an order Kite does not hold is sent again;
- a 429 (nothing placed) is retried after a backoff; an order never sent within
  `send_deadline_s` fails BROKER_UNAVAILABLE (a stale MARKET order is worse than none).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

import msgspec
from kiteconnect import KiteConnect

from actors.execution.venue import Cancel, Instruction, MarketUpdate
from actors.instruments import InstrumentBook
from actors.kite.book import KiteBook
from actors.kite.calls import KiteCalls, Outcome, describe, outcome_of
from actors.kite.order_limits import OrderLimits, limits_for
from actors.kite.order_updates import KiteOrder
from actors.kite.reconcile import Reconciliation, reconcile
from actors.kite.reconciling import our_client_order_id, our_ledger
from actors.kite.reports import fetch_reports
from actors.kite.tags import TagError, client_order_id_of
from actors.paper.charges import ChargesTable, Product
from schemas.enums import OrderFailReason, OrderType
from schemas.events import Event

__all__ = ["KiteVenue", "KiteVenueConfig", "SESSION_HINT"]

log = logging.getLogger(__name__)

SESSION_HINT = "run `alpha-panda zerodha login`, then `alpha-panda resume --broker zerodha`"
_PROTECTED = {OrderType.MARKET}  # (and SL-M, which we do not send yet)
_KITE_TYPES = {OrderType.MARKET: KiteConnect.ORDER_TYPE_MARKET,
               OrderType.LIMIT: KiteConnect.ORDER_TYPE_LIMIT}  # fmt: skip


class KiteVenueConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    timeout_s: float = 7.0  # the client's HTTP timeout: past it, a placement is ambiguous
    poll_s: float = 0.5  # how often open orders are read while there are any
    idle_poll_s: float = 2.0  # how often Kite is read when nothing is open (its health)
    backoff_min_s: float = 0.25
    backoff_max_s: float = 5.0
    send_deadline_s: float = 30.0  # an order not sent by then fails BROKER_UNAVAILABLE
    halt_after_failures: int = 5  # consecutive failed calls that halt zerodha trading
    reconcile_s: float = 60.0  # how often Kite's four reports are compared with our book
    product: Product = Product.MIS
    max_signal_tick_age_ms: int = 30_000


class KiteVenue(KiteBook):
    """Orders on Kite through the official client `kite`, one account (`account`)."""

    def __init__(
        self,
        kite: KiteConnect,
        instruments: InstrumentBook,
        *,
        account: str,
        config: KiteVenueConfig | None = None,
        limits: OrderLimits | None = None,
        charges: ChargesTable | None = None,
        clock: Callable[[], int] = time.time_ns,
        on_halt: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.config = config or KiteVenueConfig()
        super().__init__(
            instruments, limits if limits is not None else limits_for(account),
            charges or ChargesTable(), self.config.product, clock,
        )  # fmt: skip
        self.kite = kite
        self.max_signal_tick_age_ms = self.config.max_signal_tick_age_ms
        self.on_halt = on_halt
        self.healthy = True
        self.halted_reason: str | None = None
        self.last_error = ""
        self.not_in_book: set[str] = set()  # Kite orders with our tags that this book lacks
        self.foreign: set[str] = set()  # Kite orders whose tags are not ours
        self._cancels: list[str] = []
        self._modifies: list[tuple[str, Decimal | None, int | None]] = []
        self._retry_at: dict[str, int] = {}
        self._failures = 0
        self._last_read_ns = 0
        self._reconciled_ns = 0
        self.reconciliation: Reconciliation | None = None
        self.blocked_reason: str | None = None  # the last reconciliation's halt, if not ok
        self._calls = KiteCalls("kite-calls")
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- instructions -----------------------------------------------------------------

    async def execute(self, instruction: Instruction, *, redelivered: bool = False) -> list[Event]:
        """Book the instruction for the worker; the answer is only what is known at once
        (a refusal). `redelivered`: the signal came before, so its tag is looked up first."""
        if isinstance(instruction, MarketUpdate):
            return []  # Kite's exchange fills our orders, not our ticks
        if isinstance(instruction, Cancel):
            o = self._orders.get(instruction.client_order_id)
            placed = o is not None and o.is_open and o.phase == "placed" and o.broker_order_id
            if o is not None and placed and o.client_order_id not in self._cancels:
                self._cancels.append(o.client_order_id)
                self._poke()
            return []
        return self._book(instruction, redelivered)

    def modify(
        self, client_order_id: str, *, price: Decimal | None = None, quantity: int | None = None
    ) -> bool:
        """Ask Kite to change an open order's price or quantity (Kite allows 25 changes);
        what it did shows at the next read. False when the order is not open at Kite."""
        o = self._orders.get(client_order_id)
        if o is None or not o.is_open or o.phase != "placed" or not o.broker_order_id:
            return False
        self._modifies.append((client_order_id, price, quantity))
        self._poke()
        return True

    # -- the worker ---------------------------------------------------------------------

    def on_order_update(self, data: Mapping[str, Any]) -> None:
        """A ticker order update (any thread): read Kite now rather than at the next poll."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        """The worker: one step at every wake-up or poll interval, until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        try:
            while True:
                await self.step()
                busy = any(o.phase not in ("refused", "held") for o in self.open_orders())
                interval = self.config.poll_s if busy else self.config.idle_poll_s
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(interval):
                        await self._wake.wait()
                self._wake.clear()
        finally:
            self._calls.close()

    async def step(self) -> None:
        """Reconcile when due, resolve, place, cancel, then read what changed at Kite (one
        read when it can). Nothing is placed until a reconciliation came out ok."""
        views = None
        now = self.clock()
        every = self.config.reconcile_s if self.started else self.config.idle_poll_s
        if now - self._reconciled_ns >= int(every * 1e9):
            views = await self._reconcile()
        if views is None and any(o.phase == "unresolved" for o in self.open_orders()):
            views = await self._read_orders()
        if views is not None:
            self._resolve(views)
        queued = [o for o in self.open_orders() if o.phase == "queued" and not self._expired(o)]
        if self.started:
            for o in queued:
                await self._send(o)
            if queued or self._cancels or self._modifies:
                views = None  # Kite's book changed since it was read
            await self._send_cancels()
            await self._send_modifies()
        watched = [o for o in self.open_orders() if o.phase == "placed"]
        idle = self.clock() - self._last_read_ns >= int(self.config.idle_poll_s * 1e9)
        if watched or idle:
            if views is None:
                views = await self._read_orders()
            if views is not None and watched:
                await self._observe(watched, views)

    async def _reconcile(self) -> list[dict[str, Any]] | None:
        """Kite's four reports against our book (on start, then every `reconcile_s`); a
        result that is not ok is looked at twice (a fill can land between two fetches), then
        halts zerodha and stops placing until a later one is ok. Kite's order book, when it
        came, is returned for resolving tags."""
        self._reconciled_ns = self.clock()
        symbols = {i.instrument_token: i.tradingsymbol for i in self.instruments}
        result = None
        for _ in range(2):
            reports = await self._calls(fetch_reports, self.kite, self.clock())
            result = reconcile(reports, our_ledger(self), our_client_order_id, symbols=symbols)
            if result.ok:
                break
        assert result is not None
        self.reconciliation = result
        self.counts["reconciliations"] += 1
        for adopted in result.adopted:  # Kite is ahead of us: the next read emits the events
            o = self._orders.get(adopted.client_order_id)
            if o is not None and o.is_open and o.phase not in ("held", "placed"):
                self.counts["adopted"] += 1
                self._adopted(o, adopted.broker_order_id)
        if result.ok:
            self.started, self.blocked_reason = True, None
        else:
            self.counts["reconcile_halts"] += 1
            self.started = False
            if self.blocked_reason != result.halt_reason:  # halt once per finding
                self.blocked_reason = result.halt_reason
                log.error("%s", result.summary())
                await self._publish_halt(result.halt_reason or "reconciliation failed")
        if reports.orders is not None:
            self._last_read_ns = self.clock()
            self._note_tags(reports.orders)
        return reports.orders

    def _expired(self, o: KiteOrder) -> bool:
        """An order never sent within `send_deadline_s` fails (Kite away, or halted by a
        reconciliation): a MARKET order minutes after its signal is worse than none."""
        if self.clock() - o.queued_ns <= int(self.config.send_deadline_s * 1e9):
            return False
        why = self.last_error if self.started else (self.blocked_reason or self.last_error)
        detail = f"not sent within {self.config.send_deadline_s:g}s: {why}"
        self._refused.append((o.client_order_id, OrderFailReason.BROKER_UNAVAILABLE, detail))
        o.phase = "refused"
        return True

    async def _send(self, o: KiteOrder) -> None:
        now = self.clock()
        if self._retry_at.get(o.client_order_id, 0) > now:
            return
        params: dict[str, Any] = {
            "variety": KiteConnect.VARIETY_REGULAR, "exchange": o.exchange,
            "tradingsymbol": o.tradingsymbol, "transaction_type": str(o.side),
            "quantity": o.quantity, "product": o.product,
            "order_type": _KITE_TYPES[o.order_type], "tag": o.tag,
        }  # fmt: skip
        if o.order_type in _PROTECTED:
            params["market_protection"] = KiteConnect.MARKET_PROTECTION_AUTO
        if o.limit_price is not None:
            params["price"] = str(o.limit_price)
        o.phase, o.attempts = "sent", o.attempts + 1
        self.counts["placements"] += 1
        try:
            order_id = await self._calls(self.kite.place_order, **params)
        except Exception as exc:
            await self._placement_failed(o, exc)
            return
        self._ok()
        self._retry_at.pop(o.client_order_id, None)
        self._adopted(o, str(order_id))

    async def _placement_failed(self, o: KiteOrder, exc: Exception) -> None:
        outcome = outcome_of(exc)
        self.counts[f"place_{outcome.value}"] += 1
        log.warning("zerodha order %s (tag %s): placement %s: %s", o.client_order_id, o.tag,
                    outcome.value, describe(exc))  # fmt: skip
        if outcome is Outcome.AMBIGUOUS:
            o.phase = "unresolved"  # looked up by tag at the next step, before any resend
            await self._failed_call(exc)
        elif outcome in (Outcome.RETRY, Outcome.UNREACHABLE):
            o.phase = "queued"
            backoff = min(self.config.backoff_max_s, self.config.backoff_min_s * 2**o.attempts)
            self._retry_at[o.client_order_id] = self.clock() + int(backoff * 1e9)
            if outcome is Outcome.UNREACHABLE:
                await self._failed_call(exc)
        else:
            reason = (OrderFailReason.BROKER_UNAVAILABLE if outcome is Outcome.SESSION
                      else OrderFailReason.BROKER_REJECTED)  # fmt: skip
            self._refused.append((o.client_order_id, reason, describe(exc)))
            o.phase = "refused"
            if outcome is Outcome.SESSION:
                await self._failed_call(exc)

    async def _send_cancels(self) -> None:
        cancels, self._cancels = self._cancels, []
        for coid in cancels:
            o = self._orders[coid]
            try:
                await self._calls(self.kite.cancel_order, KiteConnect.VARIETY_REGULAR,
                                  o.broker_order_id)  # fmt: skip
                self.counts["cancels"] += 1
            except Exception as exc:  # filled meanwhile, or Kite away: the next read tells
                self.counts["cancel_failed"] += 1
                log.warning("zerodha cancel of %s: %s", coid, describe(exc))

    async def _send_modifies(self) -> None:
        modifies, self._modifies = self._modifies, []
        for coid, price, quantity in modifies:
            o = self._orders[coid]
            changes: dict[str, Any] = {}
            if price is not None:
                changes["price"] = str(price)
            if quantity is not None:
                changes["quantity"] = quantity
            try:
                await self._calls(self.kite.modify_order, KiteConnect.VARIETY_REGULAR,
                                  o.broker_order_id, **changes)  # fmt: skip
                self.counts["modifies"] += 1
                if quantity is not None and not o.filled_quantity:
                    o.quantity = quantity
                if price is not None:
                    o.limit_price = price
            except Exception as exc:
                self.counts["modify_failed"] += 1
                log.warning("zerodha modify of %s: %s", coid, describe(exc))

    async def _read_orders(self) -> list[dict[str, Any]] | None:
        try:
            views: list[dict[str, Any]] = await self._calls(self.kite.orders)
        except Exception as exc:
            await self._failed_call(exc)
            return None
        self._ok()
        self._last_read_ns = self.clock()
        self.counts["reads"] += 1
        self._note_tags(views)
        return views

    def _note_tags(self, views: list[dict[str, Any]]) -> None:
        for v in views:
            tag = str(v.get("tag") or "")
            if tag:
                self._kite_tags[tag] = str(v.get("order_id"))
            if self.tags.client_order_id(tag) is not None:
                continue
            try:
                client_order_id_of(tag)
                self.not_in_book.add(str(v.get("order_id")))
            except TagError:
                self.foreign.add(str(v.get("order_id")))

    async def _observe(self, watched: list[KiteOrder], views: list[dict[str, Any]]) -> None:
        by_id = {str(v.get("order_id")): v for v in views}
        seen = [(o, by_id[o.broker_order_id]) for o in watched if o.broker_order_id in by_id]
        trades: list[dict[str, Any]] = []
        if any(int(v.get("filled_quantity") or 0) > o.filled_quantity for o, v in seen):
            try:
                trades = await self._calls(self.kite.trades)
            except Exception as exc:
                await self._failed_call(exc)
                return
        for o, view in seen:
            mine: list[Mapping[str, Any]] = [
                t for t in trades if str(t.get("order_id")) == o.broker_order_id
            ]
            self._observed.append((o.client_order_id, view, mine))

    # -- health -------------------------------------------------------------------------

    def _ok(self) -> None:
        self._failures = 0
        if not self.healthy:
            log.warning("zerodha: Kite answers again (trading stays halted until resumed)")
        self.healthy, self.halted_reason = True, None

    async def _failed_call(self, exc: BaseException) -> None:
        self.last_error = describe(exc)
        outcome = outcome_of(exc)
        if outcome is Outcome.RETRY:
            self.counts["answered_429"] += 1
            return  # Kite pacing us is not an outage: the next poll is the backoff
        self._failures += 1
        session = outcome is Outcome.SESSION
        if session or self._failures >= self.config.halt_after_failures:
            self.healthy = False
            if self.halted_reason is None:
                self.halted_reason = (
                    f"Kite session expired or invalid ({self.last_error}): {SESSION_HINT}"
                    if session
                    else f"Kite unreachable ({self.last_error}) after {self._failures} tries"
                )
                self.counts["halts"] += 1
                log.error("zerodha: %s", self.halted_reason)
                await self._publish_halt(self.halted_reason)

    async def _publish_halt(self, reason: str) -> None:
        if self.on_halt is not None:
            try:
                await self.on_halt(reason)
            except Exception:
                log.exception("zerodha: could not publish the halt")

    def stats(self) -> dict[str, Any]:
        unresolved = [o.tag for o in self.open_orders() if o.phase in ("unresolved", "sent")]
        return {
            "healthy": self.healthy,
            "halted_reason": self.halted_reason or self.blocked_reason,
            "last_error": self.last_error, "started": self.started,
            "unresolved_tags": unresolved[:20], "orders_not_in_book": len(self.not_in_book),
            "foreign_orders": len(self.foreign), "counts": dict(self.counts),
            "order_limits": self.limits.stats(), "kite_calls": self._calls.calls,
            "reconciliation": (self.reconciliation.to_status()
                               if self.reconciliation is not None else None),
        }  # fmt: skip
