"""What a venue knows of an instrument's market when it matches an order: the tick's last
price, best bid and ask, and depth.

Neutral ground for the execution desk, the venue protocol and each venue (the paper broker
first): it lives here, not in a venue's module, so that execution depends on no venue.
`actors.paper.matching` re-exports it for older imports.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from schemas.enums import Side
from schemas.events import Depth, DepthLevel, MarketTick

__all__ = ["MarketView"]


_ZERO = Decimal(0)  # compared with a Decimal zero: an int 0 is converted at each comparison
_BUY = Side.BUY  # an alias: an enum class attribute is a slow lookup on Python 3.11


def _positive(price: Decimal | None) -> Decimal | None:
    return price if price is not None and price > _ZERO else None


class MarketView(msgspec.Struct, frozen=True, kw_only=True):
    """What the broker knows of an instrument's market when it matches."""

    last_price: Decimal | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None
    depth: Depth | None = None

    @classmethod
    def from_tick(cls, tick: MarketTick) -> MarketView:
        d = tick.depth
        bid = d.buy[0].price if d and d.buy else None
        ask = d.sell[0].price if d and d.sell else None
        return cls(last_price=tick.last_price, bid=_positive(bid), ask=_positive(ask), depth=d)

    def levels(self, side: Side) -> list[DepthLevel]:
        """The levels an order of `side` takes from (asks for a buy), empty ones skipped."""
        if self.depth is None:
            return []
        book = self.depth.sell if side is _BUY else self.depth.buy
        return [lvl for lvl in book if lvl.price > _ZERO and lvl.quantity > 0]

    def touch(self, side: Side) -> Decimal | None:
        if self.depth is not None:
            levels = self.levels(side)
            if levels:
                return levels[0].price
        quote = self.ask if side is _BUY else self.bid
        return _positive(quote) or _positive(self.last_price)
