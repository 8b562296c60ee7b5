"""Reconciliation of Kite's reports with our ledger: pure, run on start and periodically.

`reconcile(reports, ledger)` compares Kite's order book, trade book, net positions and
holdings (`KiteReports`, see `actors.kite.reports`) with what our ledger holds
(`OurLedger`), and says what the execution shell must do. The rules, in order:

1. **A missing report fails closed.** Any report that is `None` (or malformed) makes the
   result not ok, named in `missing_reports`; a missing report is not a flat position.
   Without the order book and the trade book nothing is adopted; without all four, no
   position is compared (a partial picture would invent differences or hide them).
2. **Our orders** are Kite orders whose tag starts with `ledger.tag_prefix`.
   - Tag in the ledger, Kite ahead of it (Kite's order id unknown to us, fills we have not
     recorded, a final state our ledger has not seen): `adopted`, with Kite's order id,
     status, filled quantity, average price and the trades we have not recorded, so the
     shell emits the missing events through its state machine.
   - Tag not in the ledger (placed before a crash, its answer lost): `placed_unseen`, its
     client order id looked up in `tag_map` when the caller passes one. Passed and the tag
     is not in it: the order is `unknown`. Not passed: it stays in `placed_unseen` without
     a client order id (flagged; its fills are not ours to count, so they show as position
     differences).
   - A tag at Kite twice, or Kite disagreeing with the ledger on instrument, side or order
     id, or holding fewer fills than we recorded, or open while our ledger closed it, or
     its trades not adding up to its filled quantity: a `conflict`, not ok.
   - A ledger order open in our books that Kite does not list: `not_at_kite` (flagged; a
     placement that never reached Kite is safe to resolve as failed, by the shell).
3. **Foreign orders** (no tag, another prefix, or an unknown tag) are `unknown`: flagged and
   shown, never traded against, and alone they keep the result ok.
4. **Positions.** For every instrument we trade (in the ledger's positions or orders, or in
   an order of ours at Kite), our quantity is the ledger's net position plus the adopted
   fills, Kite's is the sum of its net position rows (every product) plus its holdings
   (`quantity + t1_quantity`: settled and awaiting settlement; a sale of holdings today is
   a negative CNC row in positions, so the sum is what the account holds). Any difference
   is a `position_diffs` entry and halts. Foreign orders that trade an instrument we trade
   therefore halt through this rule. Positions and holdings in instruments we never traded
   are `foreign_positions`: flagged, not halting.

The reports are fetched one after another, so a resting order filling between two fetches
can show as a conflict or a difference once; a caller halts on a second look that agrees.

`ok` is False exactly when a report is missing, a position differs or an order conflicts;
`halt_reason` then says why and what to run. Quantities are whole shares; prices are exact
`Decimal` rupees (`kite_price`), never floats.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import msgspec

from actors.kite.reports import (
    KiteOrderRow,
    KiteReports,
    KiteTrade,
    ReportError,
    net_quantities,
    parse_orders,
    parse_trades,
)
from schemas.enums import OrderStatus, Side

__all__ = [
    "LedgerOrder",
    "OurLedger",
    "KiteTrade",
    "Adopted",
    "PlacedUnseen",
    "ForeignOrder",
    "PositionDiff",
    "ForeignPosition",
    "OrderConflict",
    "NotAtKite",
    "Reconciliation",
    "reconcile",
    "order_status",
    "TagMap",
]

BROKER = "zerodha"
REMEDY = (
    "run `alpha-panda status` for the differences, settle them at Kite or in the ledger, "
    "then `alpha-panda resume --broker zerodha`"
)
MISSING_REMEDY = (
    "run `alpha-panda zerodha login` if the session expired, make sure Kite answers, "
    "then `alpha-panda resume --broker zerodha`"
)

TagMap = Mapping[str, str] | Callable[[str], str | None]


class LedgerOrder(msgspec.Struct, frozen=True):
    """One order as our ledger knows it. `fill_ids`: Kite trade ids already recorded; when
    empty, the first `filled_quantity` shares of the order's trades count as recorded."""

    client_order_id: str
    tag: str
    broker_order_id: str | None
    instrument_token: int
    side: Side
    quantity: int
    filled_quantity: int
    is_open: bool
    fill_ids: tuple[str, ...] = ()


class OurLedger(msgspec.Struct, frozen=True):
    """Our side: orders keyed by tag, net quantity per instrument token from our fills."""

    orders: dict[str, LedgerOrder]
    positions: dict[int, int]
    tag_prefix: str = "ap"


class _KiteOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An order of ours as Kite holds it; `order_status` is Kite's status in our words."""

    tag: str
    broker_order_id: str
    instrument_token: int
    tradingsymbol: str
    side: Side
    quantity: int
    status: str
    order_status: OrderStatus
    filled_quantity: int
    average_price: Decimal
    status_message: str | None = None
    new_trades: list[KiteTrade] = msgspec.field(default_factory=list)


class Adopted(_KiteOrder, frozen=True, kw_only=True):
    """Ours, in the ledger, and Kite is ahead: emit the missing events from these facts."""

    client_order_id: str
    recorded_filled_quantity: int = 0


class PlacedUnseen(_KiteOrder, frozen=True, kw_only=True):
    """Ours by tag but not in the ledger; `client_order_id` None: no tag map to adopt it."""

    client_order_id: str | None = None


class ForeignOrder(msgspec.Struct, frozen=True, kw_only=True):
    broker_order_id: str
    tag: str | None
    tradingsymbol: str
    instrument_token: int
    side: str
    quantity: int
    filled_quantity: int
    status: str
    is_open: bool
    reason: str  # "untagged", "foreign tag" or "unknown tag"


class PositionDiff(msgspec.Struct, frozen=True, kw_only=True):
    """`ours` = ledger net position + adopted fills; `kite` = positions + holdings."""

    instrument_token: int
    tradingsymbol: str
    ours: int
    kite: int
    ledger: int = 0
    adopted: int = 0


class ForeignPosition(msgspec.Struct, frozen=True, kw_only=True):
    instrument_token: int
    tradingsymbol: str
    quantity: int
    source: str  # "positions" or "holdings"


class OrderConflict(msgspec.Struct, frozen=True, kw_only=True):
    tag: str
    broker_order_id: str | None
    problem: str


class NotAtKite(msgspec.Struct, frozen=True, kw_only=True):
    tag: str
    client_order_id: str
    broker_order_id: str | None


class Reconciliation(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    halt_reason: str | None
    adopted: list[Adopted]
    placed_unseen: list[PlacedUnseen]
    unknown: list[ForeignOrder]
    position_diffs: list[PositionDiff]
    missing_reports: list[str]
    conflicts: list[OrderConflict] = msgspec.field(default_factory=list)
    foreign_positions: list[ForeignPosition] = msgspec.field(default_factory=list)
    not_at_kite: list[NotAtKite] = msgspec.field(default_factory=list)
    matched: int = 0
    fetched_ns: int = 0

    def summary(self) -> str:
        """One line for status and the audit trail."""
        counts = (
            f"{self.matched} matched, {len(self.adopted)} adopted, "
            f"{len(self.placed_unseen)} placed unseen, {len(self.unknown)} foreign orders, "
            f"{len(self.foreign_positions)} foreign positions, {len(self.not_at_kite)} not at Kite"
        )
        if self.ok:
            return f"{BROKER} reconciled: {counts}"
        return f"{self.halt_reason} ({counts})"

    def to_status(self) -> dict[str, Any]:
        """JSON-ready (Decimals as strings) for status and the audit stream."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        out["summary"] = self.summary()
        return out


def order_status(kite_status: str, filled: int) -> OrderStatus:
    """Kite's order status in the words of our order state machine."""
    if kite_status == "COMPLETE":
        return OrderStatus.FILLED
    if kite_status == "REJECTED":
        return OrderStatus.REJECTED
    if kite_status.startswith("CANCELLED"):
        return OrderStatus.CANCELLED
    return OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.ACCEPTED


def reconcile(
    reports: KiteReports,
    ledger: OurLedger,
    tag_map: TagMap | None = None,
    *,
    symbols: Mapping[int, str] | None = None,
) -> Reconciliation:
    """Compare Kite's reports with our ledger (rules in the module docstring); pure.

    `tag_map` (tag to client order id, a mapping or a function) adopts orders of ours that
    the ledger lacks; `symbols` names instruments no report names (else the token shows).
    """
    missing = list(reports.missing)
    orders, trades, positions, holdings = (
        _parsed(name, getattr(reports, name), parse, missing)
        for name, parse in (
            ("orders", parse_orders),
            ("trades", parse_trades),
            ("positions", net_quantities),
            ("holdings", net_quantities),
        )
    )
    work = _Work(ledger, tag_map)
    if orders is not None:
        work.orders(orders, trades)
    diffs: list[PositionDiff] = []
    foreign_positions: list[ForeignPosition] = []
    if not missing and positions is not None and holdings is not None:
        diffs, foreign_positions = work.positions(positions, holdings, reports, symbols or {})
    reasons = []
    if missing:
        reasons.append(
            f"Kite report(s) missing: {', '.join(missing)} (a missing report is not a flat "
            "position)"
        )
    if diffs:
        shown = ", ".join(f"{d.tradingsymbol} ours {d.ours} Kite {d.kite}" for d in diffs)
        reasons.append(f"position mismatch {shown}")
    if work.conflicts:
        reasons.append(
            "order conflict " + ", ".join(f"{c.tag}: {c.problem}" for c in work.conflicts)
        )
    reasons.append(MISSING_REMEDY if missing else REMEDY)
    ok = len(reasons) == 1  # the remedy alone
    return Reconciliation(
        ok=ok,
        halt_reason=None if ok else f"{BROKER} halted: " + "; ".join(reasons),
        adopted=work.adopted,
        placed_unseen=work.placed_unseen,
        unknown=work.unknown,
        position_diffs=diffs,
        missing_reports=missing,
        conflicts=work.conflicts,
        foreign_positions=foreign_positions,
        not_at_kite=work.not_at_kite,
        matched=work.matched,
        fetched_ns=reports.fetched_ns,
    )


class _Work:
    """The fold over Kite's orders; holds the lists `reconcile` returns."""

    def __init__(self, ledger: OurLedger, tag_map: TagMap | None) -> None:
        self.ledger = ledger
        self.tag_map = tag_map
        self.adopted: list[Adopted] = []
        self.placed_unseen: list[PlacedUnseen] = []
        self.unknown: list[ForeignOrder] = []
        self.conflicts: list[OrderConflict] = []
        self.not_at_kite: list[NotAtKite] = []
        self.matched = 0
        self.ours_tokens = {o.instrument_token for o in ledger.orders.values()}
        self.ours_tokens |= set(ledger.positions)
        self.adopted_qty: dict[int, int] = defaultdict(int)

    def orders(self, orders: list[KiteOrderRow], trades: list[KiteTrade] | None) -> None:
        by_order: dict[str, list[KiteTrade]] = defaultdict(list)
        for trade in trades or ():
            by_order[trade.order_id].append(trade)
        by_tag: dict[str, list[KiteOrderRow]] = defaultdict(list)
        for row in orders:
            tag = row.tag
            if tag is not None and tag.startswith(self.ledger.tag_prefix):
                by_tag[tag].append(row)
            else:
                self.unknown.append(_foreign(row, "untagged" if tag is None else "foreign tag"))
        for tag, rows in by_tag.items():
            if len(rows) > 1:
                ids = ", ".join(r.order_id for r in rows)
                self.conflicts.append(
                    OrderConflict(tag=tag, broker_order_id=None, problem=f"at Kite twice ({ids})")
                )
                self.ours_tokens |= {r.instrument_token for r in rows}
                continue
            if trades is not None:  # nothing is adopted without the trade book
                self._ours(tag, rows[0], by_order.get(rows[0].order_id, []))
        for tag, mine in self.ledger.orders.items():
            if mine.is_open and tag not in by_tag:
                self.not_at_kite.append(
                    NotAtKite(
                        tag=tag,
                        client_order_id=mine.client_order_id,
                        broker_order_id=mine.broker_order_id,
                    )
                )

    def _ours(self, tag: str, row: KiteOrderRow, trades: list[KiteTrade]) -> None:
        mine = self.ledger.orders.get(tag)
        if mine is None:
            self._unseen(tag, row, trades)
            return
        self.ours_tokens.add(row.instrument_token)
        problem = _conflict(mine, row, trades)
        if problem is not None:
            self.conflicts.append(
                OrderConflict(tag=tag, broker_order_id=row.order_id, problem=problem)
            )
            return
        new = _unrecorded(mine, trades)
        if new is None:
            self.conflicts.append(
                OrderConflict(
                    tag=tag,
                    broker_order_id=row.order_id,
                    problem=f"its trades do not split at our {mine.filled_quantity} recorded",
                )
            )
            return
        open_at_kite = row.is_open
        ahead = (
            bool(new)
            or mine.broker_order_id is None
            or (mine.is_open and not open_at_kite)
            or row.filled_quantity > mine.filled_quantity
        )
        if not ahead:
            self.matched += 1
            return
        self._count(new)
        self.adopted.append(
            Adopted(
                client_order_id=mine.client_order_id,
                recorded_filled_quantity=mine.filled_quantity,
                **_order_fields(tag, row, new),
            )
        )

    def _unseen(self, tag: str, row: KiteOrderRow, trades: list[KiteTrade]) -> None:
        client_order_id = _lookup(self.tag_map, tag)
        if self.tag_map is not None and client_order_id is None:
            self.unknown.append(_foreign(row, "unknown tag"))
            return
        self.ours_tokens.add(row.instrument_token)
        if client_order_id is not None:  # adoptable: its fills become ours
            self._count(trades)
        self.placed_unseen.append(
            PlacedUnseen(client_order_id=client_order_id, **_order_fields(tag, row, trades))
        )

    def _count(self, trades: Iterable[KiteTrade]) -> None:
        for t in trades:
            self.adopted_qty[t.instrument_token] += t.side.sign * t.quantity

    def positions(
        self,
        positions: dict[int, int],
        holdings: dict[int, int],
        reports: KiteReports,
        known: Mapping[int, str],
    ) -> tuple[list[PositionDiff], list[ForeignPosition]]:
        symbols = {**known, **_symbols(reports)}
        diffs, foreign = [], []
        for token in sorted(self.ours_tokens | set(positions) | set(holdings)):
            name = symbols.get(token, str(token))
            if token not in self.ours_tokens:
                for source, qty in (("positions", positions), ("holdings", holdings)):
                    if qty.get(token, 0):
                        foreign.append(
                            ForeignPosition(
                                instrument_token=token,
                                tradingsymbol=name,
                                quantity=qty[token],
                                source=source,
                            )
                        )
                continue
            ledger, adopted = self.ledger.positions.get(token, 0), self.adopted_qty.get(token, 0)
            kite = positions.get(token, 0) + holdings.get(token, 0)
            if ledger + adopted != kite:
                diffs.append(
                    PositionDiff(
                        instrument_token=token,
                        tradingsymbol=name,
                        ours=ledger + adopted,
                        kite=kite,
                        ledger=ledger,
                        adopted=adopted,
                    )
                )
        return diffs, foreign


def _conflict(mine: LedgerOrder, row: KiteOrderRow, trades: list[KiteTrade]) -> str | None:
    if row.instrument_token != mine.instrument_token or row.side != mine.side.value:
        return (
            f"Kite has {row.side} {row.instrument_token}, "
            f"our ledger {mine.side.value} {mine.instrument_token}"
        )
    if mine.broker_order_id is not None and mine.broker_order_id != row.order_id:
        return f"Kite's order id {row.order_id}, our ledger's {mine.broker_order_id}"
    if row.filled_quantity < mine.filled_quantity:
        return f"Kite filled {row.filled_quantity}, our ledger {mine.filled_quantity}"
    if not mine.is_open and row.is_open:
        return f"open at Kite ({row.status}) but closed in our ledger"
    traded = sum(t.quantity for t in trades)
    if traded != row.filled_quantity:
        return f"Kite filled {row.filled_quantity} but its trades add up to {traded}"
    return None


def _unrecorded(mine: LedgerOrder, trades: list[KiteTrade]) -> list[KiteTrade] | None:
    """Trades of the order our ledger has not recorded; None when they cannot be told."""
    if mine.fill_ids:
        return [t for t in trades if t.trade_id not in mine.fill_ids]
    seen = 0
    for i, trade in enumerate(trades):
        if seen == mine.filled_quantity:
            return trades[i:]
        seen += trade.quantity
    return [] if seen == mine.filled_quantity else None


def _order_fields(tag: str, row: KiteOrderRow, new: list[KiteTrade]) -> dict[str, Any]:
    return {
        "tag": tag,
        "broker_order_id": row.order_id,
        "instrument_token": row.instrument_token,
        "tradingsymbol": row.tradingsymbol,
        "side": Side(row.side),
        "quantity": row.quantity,
        "status": row.status,
        "order_status": order_status(row.status, row.filled_quantity),
        "filled_quantity": row.filled_quantity,
        "average_price": row.average_price,
        "status_message": row.status_message,
        "new_trades": new,
    }


def _foreign(row: KiteOrderRow, reason: str) -> ForeignOrder:
    return ForeignOrder(
        broker_order_id=row.order_id,
        tag=row.tag,
        tradingsymbol=row.tradingsymbol,
        instrument_token=row.instrument_token,
        side=row.side,
        quantity=row.quantity,
        filled_quantity=row.filled_quantity,
        status=row.status,
        is_open=row.is_open,
        reason=reason,
    )


def _lookup(tag_map: TagMap | None, tag: str) -> str | None:
    if tag_map is None:
        return None
    if callable(tag_map):
        return tag_map(tag)
    return tag_map.get(tag)


def _symbols(reports: KiteReports) -> dict[int, str]:
    names: dict[int, str] = {}
    for rows in (reports.holdings, reports.positions, reports.trades, reports.orders):
        for row in rows or ():
            token, name = row.get("instrument_token"), row.get("tradingsymbol")
            if isinstance(token, int) and isinstance(name, str):
                names[token] = name
    return names


def _parsed(name: str, rows: Any, parse: Callable[[str, Any], Any], missing: list[str]) -> Any:
    """The parsed report, or None (named in `missing`) when Kite's rows make no sense."""
    if rows is None:
        return None
    try:
        return parse(name, rows)
    except ReportError as exc:
        missing.append(f"{name} (malformed: {exc})")
        return None
