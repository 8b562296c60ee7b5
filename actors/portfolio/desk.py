"""The portfolio desk of one broker: fills and ticks in, positions and PnL out. Pure.

It books fills into the `Portfolio` (`actors.portfolio.book`: one book per strategy and
instrument, marks from ticks only), marks instruments to the ticks it is given (by event
time), and stamps its snapshots with its clock: the wall clock live, the simulated clock
(the event time being processed) in a backtest.
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

    def on_order_event(self, event: Event) -> set[int]:
        """Book a fill (a new fill id); returns the instruments it made newly held, which
        the caller marks from their last tick (`on_tick`). Other order events change no
        position."""
        if not isinstance(event, OrderFilled) or not self.book.apply_fill(event):
            return set()
        # a fill changes whether its own instrument is held, no other's
        token = event.instrument_token
        if self.book.holds(token):
            if token in self.held:
                return set()
            self.held = self.held | {token}
            return {token}
        if token in self.held:
            self.held = self.held - {token}
        return set()

    def on_tick(self, tick: MarketTick, ts_ns: int) -> None:
        """Mark the tick's instrument at its last price, as of `ts_ns` (the tick's time)."""
        self.book.mark(tick.instrument_token, tick.last_price, ts_ns)

    def snapshot(self, last_seq: int) -> PnlSnapshot:
        """The book as of now (the desk's clock), including stream sequence `last_seq`."""
        return self.book.snapshot(self.clock.now_ns(), last_seq)

    def restore(self, snapshot: PnlSnapshot) -> set[int]:
        """Rebuild from a snapshot; returns the held instruments (to mark from their ticks)."""
        self.book = Portfolio.from_snapshot(snapshot)
        self.held = set()
        return self._follow_held()

    def _follow_held(self) -> set[int]:
        held = self.book.held()
        new, self.held = held - self.held, held
        return new
