"""Hand-made instruments and ticks for strategy tests."""

from __future__ import annotations

from decimal import Decimal

from actors.instruments import Instrument
from schemas.events import Depth, DepthLevel, MarketTick

__all__ = ["ACME", "LOTS25", "tick", "ticks"]

ACME = Instrument(
    instrument_token=1001,
    tradingsymbol="ACME",
    exchange="NSE",
    tick_size=Decimal("0.05"),
    lot_size=1,
    base_price=Decimal("100.00"),
    annual_volatility=0.2,
)
LOTS25 = Instrument(
    instrument_token=2001,
    tradingsymbol="LOTS25",
    exchange="NSE",
    tick_size=Decimal("0.05"),
    lot_size=25,
    base_price=Decimal("100.00"),
    annual_volatility=0.2,
)


def tick(
    price: str | int,
    token: int = ACME.instrument_token,
    *,
    bid: str | None = None,
    ask: str | None = None,
) -> MarketTick:
    depth = None
    if bid is not None or ask is not None:
        depth = Depth(
            buy=[DepthLevel(price=Decimal(bid), quantity=100)] if bid else [],
            sell=[DepthLevel(price=Decimal(ask), quantity=100)] if ask else [],
        )
    return MarketTick(instrument_token=token, last_price=Decimal(price), symbol=None, depth=depth)


def ticks(*prices: str | int, token: int = ACME.instrument_token) -> list[MarketTick]:
    return [tick(p, token) for p in prices]
