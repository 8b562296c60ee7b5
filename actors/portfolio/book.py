"""One broker's book: signed positions, cash, realized and unrealized PnL, charges.

Accounting (docs/trading.md):
- A position holds a signed quantity and its signed cost basis (what was paid for a long,
  minus what was received for a short). Average price = cost / quantity.
- A fill that adds to a position (or opens one) adds quantity x price to the cost. A fill
  that reduces it realizes `proceeds - removed cost`, where the removed cost is the cost's
  share of the closed quantity, rounded to the paisa (half even); closing a whole position
  removes its whole cost, so a round trip realizes exactly. A fill larger than the position
  closes it and opens the rest on the other side at the fill price.
- Realized PnL is before charges; charges are summed apart. Cash falls by buy notional plus
  charges and rises by sell notional minus charges. These make an exact identity:
      equity = cash + sum(quantity x last price)
             = starting cash + realized + unrealized - charges.
- `apply_fill` ignores a fill id it has applied (returns False). The set is complete for
  the book's lifetime but not in the snapshot (PnlSnapshot has no field for it): after a
  restore, the actor replays from the snapshot's `last_seq + 1`, so no fill it includes
  comes back.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import msgspec

from actors.errors import InvalidEvent
from schemas.enums import Side
from schemas.events import OrderFilled, PnlSnapshot, PositionView

__all__ = ["Portfolio", "apply_trade", "REALIZED_QUANTUM"]

ZERO = Decimal(0)
#: the removed cost of a partial reduction (hence realized PnL) is rounded to this
REALIZED_QUANTUM = Decimal("0.01")
#: a restored cost basis (quantity x average price) is rounded back to this; cost bases
#: are sums of quantity x price and paise, exact at this scale for prices of <= 8 places
_RESTORE_QUANTUM = Decimal("1e-8")


def apply_trade(
    quantity: int, cost: Decimal, trade_qty: int, price: Decimal
) -> tuple[int, Decimal, Decimal]:
    """Apply a signed trade to a signed (quantity, cost); returns (quantity, cost, realized)."""
    realized = ZERO
    if quantity and trade_qty and (quantity > 0) != (trade_qty > 0):
        closed = min(abs(trade_qty), abs(quantity))
        if closed == abs(quantity):
            removed = cost
        else:
            share = cost * closed / abs(quantity)
            removed = share.quantize(REALIZED_QUANTUM, rounding=ROUND_HALF_EVEN)
        closing = closed if trade_qty > 0 else -closed
        realized = -closing * price - removed
        quantity += closing
        cost -= removed
        trade_qty -= closing
    if trade_qty:
        quantity += trade_qty
        cost += trade_qty * price
    return quantity, cost, realized


class _Position(msgspec.Struct, kw_only=True):
    instrument_token: int
    quantity: int = 0
    cost: Decimal = ZERO
    last_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    symbol: str | None = None

    @property
    def unrealized_pnl(self) -> Decimal:
        return self.quantity * self.last_price - self.cost

    def view(self) -> PositionView:
        avg = self.cost / self.quantity if self.quantity else ZERO
        return PositionView(
            instrument_token=self.instrument_token,
            quantity=self.quantity,
            average_price=avg,
            last_price=self.last_price,
            realized_pnl=self.realized_pnl,
            unrealized_pnl=self.unrealized_pnl,
            symbol=self.symbol,
        )


def _tidy(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation for whole numbers."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


class Portfolio:
    """Positions and PnL of one broker, fed with OrderFilled events and marks."""

    def __init__(self, starting_cash: Decimal) -> None:
        self._starting_cash = starting_cash
        self._cash = starting_cash
        self._realized = ZERO
        self._charges = ZERO
        self._fills = 0
        self._positions: dict[int, _Position] = {}
        self._fill_ids: set[str] = set()

    @property
    def starting_cash(self) -> Decimal:
        return self._starting_cash

    @property
    def cash(self) -> Decimal:
        return self._cash

    @property
    def realized_pnl(self) -> Decimal:
        """Before charges."""
        return self._realized

    @property
    def unrealized_pnl(self) -> Decimal:
        return sum((p.unrealized_pnl for p in self._positions.values()), ZERO)

    @property
    def charges(self) -> Decimal:
        return self._charges

    @property
    def equity(self) -> Decimal:
        value = sum((p.quantity * p.last_price for p in self._positions.values()), ZERO)
        return self._cash + value

    @property
    def fills(self) -> int:
        return self._fills

    def apply_fill(self, fill: OrderFilled) -> bool:
        """Book one fill; False (and nothing changes) when its fill id was applied before."""
        if fill.fill_id in self._fill_ids:
            return False
        if fill.quantity <= 0:
            raise InvalidEvent(f"fill {fill.fill_id!r}: quantity must be > 0, got {fill.quantity}")
        self._fill_ids.add(fill.fill_id)
        pos = self._positions.get(fill.instrument_token)
        if pos is None:
            pos = self._positions[fill.instrument_token] = _Position(
                instrument_token=fill.instrument_token
            )
        signed = fill.quantity if fill.side is Side.BUY else -fill.quantity
        pos.quantity, pos.cost, realized = apply_trade(pos.quantity, pos.cost, signed, fill.price)
        pos.realized_pnl += realized
        pos.last_price = fill.price
        pos.symbol = fill.symbol or pos.symbol
        charges = fill.charges.total
        self._realized += realized
        self._charges += charges
        self._cash -= signed * fill.price + charges
        self._fills += 1
        return True

    def mark(self, instrument_token: int, price: Decimal) -> None:
        """The latest market price of an instrument held (others are ignored)."""
        pos = self._positions.get(instrument_token)
        if pos is not None and price > 0:
            pos.last_price = price

    def positions(self) -> list[PositionView]:
        """Every instrument traded, flat ones included (they carry realized PnL)."""
        return [self._positions[t].view() for t in sorted(self._positions)]

    def position(self, instrument_token: int) -> PositionView | None:
        pos = self._positions.get(instrument_token)
        return pos.view() if pos is not None else None

    def snapshot(self, as_of_ns: int, last_seq: int) -> PnlSnapshot:
        """The state as of `last_seq`, the last stream sequence applied."""
        return PnlSnapshot(
            positions=self.positions(),
            cash=self._cash,
            realized_pnl=self._realized,
            unrealized_pnl=self.unrealized_pnl,
            charges=self._charges,
            equity=self.equity,
            as_of_ns=as_of_ns,
            last_seq=last_seq,
            fills=self._fills,
        )

    @classmethod
    def from_snapshot(cls, snapshot: PnlSnapshot) -> Portfolio:
        """Rebuild exactly; the starting cash is implied by the identity in the docstring."""
        book = cls(ZERO)
        for view in snapshot.positions:
            cost = view.quantity * view.average_price
            if cost != cost.quantize(_RESTORE_QUANTUM):  # more places than a cost can have
                cost = _tidy(cost.quantize(_RESTORE_QUANTUM, rounding=ROUND_HALF_EVEN))
            book._positions[view.instrument_token] = _Position(
                instrument_token=view.instrument_token,
                quantity=view.quantity,
                cost=cost,
                last_price=view.last_price,
                realized_pnl=view.realized_pnl,
                symbol=view.symbol,
            )
        book._cash = snapshot.cash
        book._realized = snapshot.realized_pnl
        book._charges = snapshot.charges
        book._fills = snapshot.fills
        held = sum((p.cost for p in book._positions.values()), ZERO)
        book._starting_cash = snapshot.cash + held - snapshot.realized_pnl + snapshot.charges
        return book
