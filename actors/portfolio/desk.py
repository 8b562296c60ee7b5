"""The portfolio desk of one broker: fills and ticks in, positions and PnL out. Pure.

It books fills into the `Portfolio` (`actors.portfolio.book`), marks held positions to
the ticks it is given (a position opened by a fill is marked at once to the last tick of
its instrument, not left at its fill price), and stamps its snapshots with its clock: the
wall clock live, the simulated clock (the event time being processed) in a backtest.
"""

from __future__ import annotations

from decimal import Decimal

from actors.portfolio.book import Portfolio
from schemas.clock import WALL_CLOCK, Clock
from schemas.events import Event, MarketTick, OrderFilled, PnlSnapshot

__all__ = ["PortfolioDesk"]


class PortfolioDesk:
    """Positions and PnL of one broker, fed with order events and ticks."""

    def __init__(self, starting_cash: Decimal, clock: Clock = WALL_CLOCK) -> None:
        self.book = Portfolio(starting_cash)
        self.clock = clock
        self.held: set[int] = set()
        self._last: dict[int, Decimal] = {}  # token -> last price of the last tick given

    def on_order_event(self, event: Event) -> bool:
        """Book a fill (True when it changed the book: a new fill id); other events of an
        order change no position."""
        if not isinstance(event, OrderFilled) or not self.book.apply_fill(event):
            return False
        token = event.instrument_token
        last = self._last.get(token)
        if last is not None:
            self.book.mark(token, last)
        self._refresh_held()
        return True

    def on_tick(self, tick: MarketTick) -> None:
        """Remember the tick's price; mark a held position to it."""
        token = tick.instrument_token
        self._last[token] = tick.last_price
        if token in self.held:
            self.book.mark(token, tick.last_price)

    def last_price(self, instrument_token: int) -> Decimal | None:
        """The last price of the last tick of that instrument given to the desk."""
        return self._last.get(instrument_token)

    def snapshot(self, last_seq: int) -> PnlSnapshot:
        """The book as of now (the desk's clock), including stream sequence `last_seq`."""
        return self.book.snapshot(self.clock.now_ns(), last_seq)

    def restore(self, snapshot: PnlSnapshot) -> None:
        self.book = Portfolio.from_snapshot(snapshot)
        self._refresh_held()

    def _refresh_held(self) -> None:
        self.held = {p.instrument_token for p in self.book.positions() if p.quantity}
