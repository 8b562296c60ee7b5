"""Orders, ticks and depth for the paper broker tests."""

from __future__ import annotations

from decimal import Decimal

from actors.paper.charges import ChargesTable
from actors.paper.matching import PaperBroker, PaperConfig
from schemas.enums import OrderType, Side
from schemas.events import Depth, DepthLevel, Event, MarketTick, OrderFilled, OrderSubmitted

__all__ = [
    "D",
    "TOKEN",
    "NO_CHARGES",
    "paper_broker",
    "submitted",
    "asks",
    "fills_of",
    "market_tick",
]

D = Decimal
TOKEN = 408065
NO_CHARGES = ChargesTable(
    brokerage_rate_intraday=D(0),
    stt_rate_intraday_sell=D(0),
    exchange_txn_rate=D(0),
    ipft_rate=D(0),
    sebi_rate=D(0),
    stamp_rate_intraday=D(0),
)


def paper_broker(slippage_bps: str = "0", partial_fills: bool = False) -> PaperBroker:
    config = PaperConfig(slippage_bps=D(slippage_bps), partial_fills=partial_fills)
    return PaperBroker(config, NO_CHARGES)


def submitted(
    side: Side = Side.BUY,
    quantity: int = 10,
    limit_price: str | None = None,
    client_order_id: str = "c1",
) -> OrderSubmitted:
    return OrderSubmitted(
        client_order_id=client_order_id,
        signal_id="sig-1",
        strategy_id="momentum",
        instrument_token=TOKEN,
        side=side,
        quantity=quantity,
        order_type=OrderType.LIMIT if limit_price else OrderType.MARKET,
        limit_price=D(limit_price) if limit_price else None,
    )


def asks(*levels: tuple[str, int]) -> Depth:
    return Depth(sell=[DepthLevel(price=D(p), quantity=q) for p, q in levels])


def fills_of(events: list[Event]) -> list[OrderFilled]:
    return [e for e in events if isinstance(e, OrderFilled)]


def market_tick(last: str, depth: Depth | None = None) -> MarketTick:
    return MarketTick(instrument_token=TOKEN, last_price=D(last), depth=depth)
