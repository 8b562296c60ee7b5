"""One broker's book: per strategy and instrument, signed positions, cash, realized and
unrealized PnL, charges, turnover and fills, with per-instrument and per-broker sums.

Accounting (docs/trading.md):
- Each strategy keeps its own book per instrument: a signed quantity and its signed cost
  basis (what was paid for a long, minus what was received for a short), average cost.
  The per-instrument and per-broker figures are sums of those books. When two strategies
  trade one instrument in opposite directions, the instrument's net position is the sum
  while each strategy keeps its own position and realizes against its own average price
  (nothing is netted between strategies). Charges belong to the strategy of the order.
- A fill that adds to a position (or opens one) adds quantity x price to the cost. A fill
  that reduces it realizes `proceeds - removed cost`, where the removed cost is the cost's
  share of the closed quantity, rounded to the paisa (half even); closing a whole position
  removes its whole cost, so a round trip realizes exactly. A fill larger than the position
  closes it and opens the rest on the other side at the fill price.
- Realized PnL is before charges; charges are summed apart. Cash falls by buy notional plus
  charges and rises by sell notional minus charges. Turnover is the sum of quantity x price.
- Marks come from ticks, never from fills: an instrument's mark is its latest tick (by event
  time). A position is marked only by a tick at or after the tick its instrument's last fill
  was priced from (the fill's `tick_ts`, the order's named tick); until one arrives it is
  unmarked and valued at cost (unrealized 0). A flat position has nothing to mark; its view
  shows the price of the fill that closed it. These make an exact identity:
      equity = cash + sum(marked quantity x mark) + sum(cost of unmarked positions)
             = starting cash + realized + unrealized - charges.
- `apply_fill` ignores a fill id it has applied (returns False). The set is complete for
  the book's lifetime but not in the snapshot (PnlSnapshot has no field for it): after a
  restore, the actor replays from the snapshot's `last_seq + 1`, so no fill it includes
  comes back. Marks of instruments no strategy holds are not in the snapshot either; the
  actor's tick consumer starts from the last tick of every instrument.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import msgspec

from actors.errors import InvalidEvent
from schemas.enums import Side
from schemas.events import OrderFilled, PnlSnapshot, PositionView, StrategyPnl

__all__ = ["Portfolio", "apply_trade", "REALIZED_QUANTUM"]

ZERO = Decimal(0)
#: the removed cost of a partial reduction (hence realized PnL) is rounded to this
REALIZED_QUANTUM = Decimal("0.01")
#: a restored cost basis (quantity x average price) is rounded back to this; cost bases
#: are sums of quantity x price and paise, exact at this scale for prices of <= 8 places
_RESTORE_QUANTUM = Decimal("1e-8")
_PAISA = Decimal("0.01")
_PAISE_EXPONENT = -2
_BUY = Side.BUY  # an alias: an enum class attribute is a slow lookup on Python 3.11


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


class _Book(msgspec.Struct, kw_only=True):
    """One strategy's position in one instrument, with its cumulative figures."""

    strategy_id: str
    instrument_token: int
    quantity: int = 0
    cost: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    charges: Decimal = ZERO
    turnover: Decimal = ZERO
    fills: int = 0
    closed_at: Decimal = ZERO  # the price of its last fill, shown while flat
    symbol: str | None = None


class _Totals:
    """One strategy's running figures, kept on each fill so a read costs only its held books.

    `realized`, `charges` and `cost` are the sums `strategies()` adds up over the strategy's
    books (exact: Decimal addition of these amounts does not round, and a book's cost
    never gains decimal places it loses, so the running sum is the same number with the
    same exponent); `held` are its books with a position.
    """

    __slots__ = ("charges", "cost", "held", "realized")

    def __init__(self) -> None:
        self.realized = self.charges = self.cost = ZERO
        self.held: dict[int, _Book] = {}

    def add(self, book: _Book) -> None:
        self.realized += book.realized_pnl
        self.charges += book.charges
        self.cost += book.cost
        self.follow(book)

    def follow(self, book: _Book) -> None:
        if book.quantity:
            self.held[book.instrument_token] = book
        else:
            self.held.pop(book.instrument_token, None)


class _Mark(msgspec.Struct):
    """An instrument's latest tick price; updated in place (a held instrument's every tick)."""

    price: Decimal
    ts: int


class _Sum:
    """Figures added up over books (one instrument, or one strategy)."""

    __slots__ = ("charges", "cost", "fills", "open", "quantity", "realized", "turnover", "value")

    def __init__(self) -> None:
        self.quantity = 0
        self.cost = self.realized = self.charges = self.turnover = self.value = ZERO
        self.fills = self.open = 0

    def add(self, book: _Book, value: Decimal) -> None:
        self.quantity += book.quantity
        self.cost += book.cost
        self.realized += book.realized_pnl
        self.charges += book.charges
        self.turnover += book.turnover
        self.fills += book.fills
        self.value += value
        self.open += book.quantity != 0

    @property
    def unrealized(self) -> Decimal:
        return self.value - self.cost


def _tidy(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation for whole numbers."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


class Portfolio:
    """Positions and PnL of one broker, fed with OrderFilled events and tick marks."""

    def __init__(self, starting_cash: Decimal) -> None:
        self._starting_cash = starting_cash
        self._cash = starting_cash
        self._realized = ZERO
        self._charges = ZERO
        self._turnover = ZERO
        self._fills = 0
        self._books: dict[tuple[str, int], _Book] = {}
        self._marks: dict[int, _Mark] = {}
        self._priced_at: dict[int, int] = {}  # instrument -> tick_ts of its last fill
        self._last_fill_price: dict[int, Decimal] = {}  # shown while the instrument is flat
        self._fill_ids: set[str] = set()
        self._totals: dict[str, _Totals] = {}  # per strategy, updated on each fill

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
        return sum((self._value(b) - b.cost for b in self._books.values()), ZERO)

    def strategy_realized(self, strategy_id: str) -> Decimal:
        """The strategy's realized PnL (before charges), as `strategies()` reports it."""
        totals = self._totals.get(strategy_id)
        return ZERO if totals is None else totals.realized

    def strategy_net(self) -> tuple[Decimal, dict[str, Decimal]]:
        """Equity, and per strategy with a book realized + unrealized - charges (as
        `strategies()` has them), reading only the held positions."""
        out: dict[str, Decimal] = {}
        held = ZERO
        marks, priced_at = self._marks, self._priced_at
        for sid, t in self._totals.items():
            # `_value` of each held book, inlined: a backtest samples equity at every fill
            value = ZERO
            for b in t.held.values():
                quantity = b.quantity
                if not quantity:
                    value += ZERO
                    continue
                token = b.instrument_token
                mark = marks.get(token)
                if mark is None or mark.ts < priced_at.get(token, 0):
                    value += b.cost
                else:
                    value += quantity * mark.price
            held += value
            out[sid] = t.realized + (value - t.cost) - t.charges
        return self._cash + held, out

    @property
    def charges(self) -> Decimal:
        return self._charges

    @property
    def turnover(self) -> Decimal:
        return self._turnover

    @property
    def equity(self) -> Decimal:
        held = (b for t in self._totals.values() for b in t.held.values())
        return self._cash + sum((self._value(b) for b in held), ZERO)

    @property
    def fills(self) -> int:
        return self._fills

    def held(self) -> set[int]:
        """The instruments some strategy holds a position in."""
        return {token for t in self._totals.values() for token in t.held}

    def holds(self, token: int) -> bool:
        """Whether some strategy holds a position in the instrument (`token in held()`)."""
        # a loop, not any() over a generator: this runs for every fill
        for t in self._totals.values():  # noqa: SIM110
            if token in t.held:
                return True
        return False

    def _mark_of(self, token: int) -> Decimal | None:
        """The instrument's mark, or None while no tick at or after its last fill's is seen."""
        mark = self._marks.get(token)
        if mark is None or mark.ts < self._priced_at.get(token, 0):
            return None
        return mark.price

    def _value(self, book: _Book) -> Decimal:
        if not book.quantity:
            return ZERO
        price = self._mark_of(book.instrument_token)
        return book.cost if price is None else book.quantity * price

    def apply_fill(self, fill: OrderFilled) -> bool:
        """Book one fill; False (and nothing changes) when its fill id was applied before."""
        if fill.fill_id in self._fill_ids:
            return False
        if fill.quantity <= 0:
            raise InvalidEvent(f"fill {fill.fill_id!r}: quantity must be > 0, got {fill.quantity}")
        self._fill_ids.add(fill.fill_id)
        key = (fill.strategy_id, fill.instrument_token)
        book = self._books.get(key)
        if book is None:
            book = self._books[key] = _Book(
                strategy_id=fill.strategy_id, instrument_token=fill.instrument_token
            )
        signed = fill.quantity if fill.side is _BUY else -fill.quantity
        cost = book.cost
        book.quantity, book.cost, realized = apply_trade(
            book.quantity, book.cost, signed, fill.price
        )
        charges = fill.charges.total
        turnover = fill.quantity * fill.price
        book.realized_pnl += realized
        book.charges += charges
        book.turnover += turnover
        book.fills += 1
        book.closed_at = fill.price
        book.symbol = fill.symbol or book.symbol
        totals = self._totals.get(fill.strategy_id)
        if totals is None:
            totals = self._totals[fill.strategy_id] = _Totals()
        totals.realized += realized
        totals.charges += charges
        totals.cost = totals.cost - cost + book.cost
        totals.follow(book)
        token = fill.instrument_token
        self._priced_at[token] = max(self._priced_at.get(token, 0), fill.tick_ts)
        self._last_fill_price[token] = fill.price
        self._realized += realized
        self._charges += charges
        self._turnover += turnover
        self._cash -= signed * fill.price + charges
        self._fills += 1
        return True

    def mark(self, instrument_token: int, price: Decimal, ts: int = 0) -> None:
        """An instrument's tick: `price` at event time `ts` (ns); an older tick is ignored."""
        if price <= ZERO:
            return
        mark = self._marks.get(instrument_token)
        if mark is None:
            self._marks[instrument_token] = _Mark(price, ts)
        elif ts >= mark.ts:
            mark.price, mark.ts = price, ts

    def _view(
        self, token: int, s: _Sum, strategy_id: str, closed_at: Decimal, symbol: str | None
    ) -> PositionView:
        price = self._mark_of(token)
        if not s.open:
            last, marked = closed_at, True
        elif price is None:
            last, marked = ZERO, False
        else:
            last, marked = price, True
        return PositionView(
            instrument_token=token,
            quantity=s.quantity,
            average_price=s.cost / s.quantity if s.quantity else ZERO,
            last_price=last,
            realized_pnl=s.realized,
            unrealized_pnl=s.unrealized,
            symbol=symbol,
            strategy_id=strategy_id,
            charges=s.charges,
            turnover=s.turnover,
            fills=s.fills,
            marked=marked,
        )

    def _book_view(self, book: _Book) -> PositionView:
        s = _Sum()
        s.add(book, self._value(book))
        return self._view(book.instrument_token, s, book.strategy_id, book.closed_at, book.symbol)

    def positions(self) -> list[PositionView]:
        """Per instrument, summed over strategies; flat ones included (they carry PnL)."""
        sums: dict[int, _Sum] = {}
        symbols: dict[int, str | None] = {}
        for book in self._books.values():
            sums.setdefault(book.instrument_token, _Sum()).add(book, self._value(book))
            symbols[book.instrument_token] = book.symbol or symbols.get(book.instrument_token)
        return [
            self._view(t, sums[t], "", self._last_fill_price.get(t, ZERO), symbols[t])
            for t in sorted(sums)
        ]

    def position(self, instrument_token: int) -> PositionView | None:
        for view in self.positions():
            if view.instrument_token == instrument_token:
                return view
        return None

    def strategy_positions(self) -> list[PositionView]:
        """Per (strategy, instrument), flat ones included, by strategy then instrument."""
        return [self._book_view(self._books[k]) for k in sorted(self._books)]

    def strategies(self) -> list[StrategyPnl]:
        """Per strategy, summed over its instruments."""
        sums: dict[str, _Sum] = {}
        for book in self._books.values():
            sums.setdefault(book.strategy_id, _Sum()).add(book, self._value(book))
        return [
            StrategyPnl(
                strategy_id=sid,
                realized_pnl=s.realized,
                unrealized_pnl=s.unrealized,
                charges=s.charges,
                turnover=s.turnover,
                fills=s.fills,
                open_positions=s.open,
            )
            for sid, s in sorted(sums.items())
        ]

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
            turnover=self._turnover,
            strategy_positions=self.strategy_positions(),
            strategies=self.strategies(),
        )

    @classmethod
    def from_snapshot(cls, snapshot: PnlSnapshot) -> Portfolio:
        """Rebuild exactly; the starting cash is implied by the identity in the docstring.

        A snapshot written before per-strategy books (no `strategy_positions`) restores each
        instrument as the book of strategy "", without per-position charges or turnover.
        """
        book = cls(ZERO)
        for view in snapshot.strategy_positions or snapshot.positions:
            book._books[(view.strategy_id, view.instrument_token)] = _Book(
                strategy_id=view.strategy_id,
                instrument_token=view.instrument_token,
                quantity=view.quantity,
                cost=_restored_cost(view),
                realized_pnl=view.realized_pnl,
                charges=view.charges,
                turnover=view.turnover,
                fills=view.fills,
                closed_at=view.last_price if not view.quantity else ZERO,
                symbol=view.symbol,
            )
        for view in snapshot.positions:
            token = view.instrument_token
            if view.marked and book.held_in(token):
                book._marks[token] = _Mark(view.last_price, 0)
            elif not book.held_in(token):
                book._last_fill_price[token] = view.last_price
        book._cash = snapshot.cash
        book._realized = snapshot.realized_pnl
        book._charges = snapshot.charges
        book._turnover = snapshot.turnover
        book._fills = snapshot.fills
        for restored in book._books.values():
            book._totals.setdefault(restored.strategy_id, _Totals()).add(restored)
        held = sum((b.cost for b in book._books.values()), ZERO)
        book._starting_cash = snapshot.cash + held - snapshot.realized_pnl + snapshot.charges
        return book

    def held_in(self, instrument_token: int) -> bool:
        """True when some strategy holds a position in the instrument."""
        return any(b.quantity for (_, t), b in self._books.items() if t == instrument_token)


def _restored_cost(view: PositionView) -> Decimal:
    cost = view.quantity * view.average_price
    # quantity x a rounded average carries up to 28 digits (-56515.0800000000000000000000):
    # back to the places a cost of prices in paise has, so the restored book prints as the
    # live one did (-56515.08), and the running totals agree with the sums in form as well
    cost = _tidy(cost.quantize(_RESTORE_QUANTUM, rounding=ROUND_HALF_EVEN))
    if cost.as_tuple().exponent > _PAISE_EXPONENT:  # type: ignore[operator]
        cost = cost.quantize(_PAISA)
    return cost
