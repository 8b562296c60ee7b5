"""Checks a tick must pass before any strategy sees it.

A bad tick (a NaN price from a decoder, a price off the exchange's grid, a crossed book)
would otherwise reach indicator math and orders. The feed and the strategy runner call
`validate_tick` and dead-letter or count what fails, by its `reason`.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

from actors.errors import InvalidTick, TickProblem
from actors.instruments import Instrument, InstrumentBook, on_tick_grid
from schemas.events import DepthLevel, MarketTick

__all__ = ["validate_tick", "plain_tick_ok"]

_ZERO = Decimal(0)


def validate_tick(tick: MarketTick, book: InstrumentBook) -> None:
    """Raise `InvalidTick` if the tick is unusable; return None if it is fine.

    Depth levels with price 0 are empty slots (Kite sends five levels a side and zeroes the
    missing ones) and are skipped.
    """
    token = tick.instrument_token
    inst = book.get(token)
    if inst is None:
        raise InvalidTick(
            TickProblem.UNKNOWN_INSTRUMENT,
            f"instrument_token {token} is not in the instrument book; add it to the "
            "instrument master (actors/data/instruments.csv or the instruments table) "
            "or stop subscribing to it",
            instrument_token=token,
        )
    if _quick_ok(tick, inst.tick_size):
        return
    _check_price(inst, "last_price", tick.last_price)
    ohlc = tick.ohlc
    if ohlc is not None and not (
        ohlc.open.is_finite()
        and ohlc.high.is_finite()
        and ohlc.low.is_finite()
        and ohlc.close.is_finite()
    ):  # the common case costs four calls; the loop below names the bad field
        for name in ("open", "high", "low", "close"):
            _check_finite(inst, f"ohlc.{name}", getattr(ohlc, name))
    if tick.average_traded_price is not None:
        _check_finite(inst, "average_traded_price", tick.average_traded_price)
    if tick.depth is not None:
        bids = _side(inst, "depth.buy", tick.depth.buy)
        asks = _side(inst, "depth.sell", tick.depth.sell)
        if any(better <= worse for better, worse in pairwise(bids)):
            _unordered(inst, "depth.buy", "best first, strictly descending")
        if any(better >= worse for better, worse in pairwise(asks)):
            _unordered(inst, "depth.sell", "best first, strictly ascending")
        if bids and asks and bids[0] >= asks[0]:
            raise InvalidTick(
                TickProblem.CROSSED_BOOK,
                f"{inst.tradingsymbol}: best bid {bids[0]} is not below best ask {asks[0]}; "
                "a crossed or locked book means the depth sides are swapped or stale; "
                "check the decoder's buy/sell order",
                instrument_token=token,
            )


def _quick_ok(tick: MarketTick, grid: Decimal) -> bool:
    """True when the tick certainly passes (the common case, in one pass); False means
    "look closer": the checks below then name what is wrong, or pass what this skipped
    (empty depth slots). A Decimal comparison raises on NaN, `%` on an infinity."""
    try:
        price = tick.last_price
        if not (price > 0 and not price % grid):
            return False
        ohlc, average, depth = tick.ohlc, tick.average_traded_price, tick.depth
        if ohlc is not None and not (
            ohlc.open.is_finite()
            and ohlc.high.is_finite()
            and ohlc.low.is_finite()
            and ohlc.close.is_finite()
        ):
            return False
        if average is not None and not average.is_finite():
            return False
        if depth is None:
            return True
        bids, asks = [level.price for level in depth.buy], [level.price for level in depth.sell]
        last = None
        for p in bids:  # best first, strictly descending, every one on the grid
            if not (p > 0 and not p % grid) or (last is not None and p >= last):
                return False
            last = p
        first_ask = last = None
        for p in asks:  # best first, strictly ascending
            if not (p > 0 and not p % grid) or (last is not None and p <= last):
                return False
            last = p
            first_ask = first_ask or p
    except ArithmeticError:  # NaN or infinity somewhere
        return False
    return not (bids and first_ask is not None and bids[0] >= first_ask)


def plain_tick_ok(tick: MarketTick, inst: Instrument) -> bool:
    """True when `tick` (of `inst`) certainly passes `validate_tick`: a finite positive
    last price on the grid, finite OHLC, no average price or depth to look at. A cheap
    test for the common tick; False says nothing, call `validate_tick` for the verdict."""
    if tick.depth is not None or tick.average_traded_price is not None:
        return False
    price, tick_size = tick.last_price, inst.tick_size
    # against a Decimal zero: comparing a Decimal with the int 0 converts the int each time
    if not (price.is_finite() and price > _ZERO and tick_size > _ZERO):
        return False
    if price % tick_size != _ZERO:
        return False
    ohlc = tick.ohlc
    return ohlc is None or (
        ohlc.open.is_finite()
        and ohlc.high.is_finite()
        and ohlc.low.is_finite()
        and ohlc.close.is_finite()
    )


def _side(inst: Instrument, where: str, levels: list[DepthLevel]) -> list[Decimal]:
    prices = []
    for n, level in enumerate(levels):
        if level.price.is_finite() and level.price == 0:
            continue  # an empty slot
        _check_price(inst, f"{where}[{n}].price", level.price)
        prices.append(level.price)
    return prices


def _check_finite(inst: Instrument, field: str, price: Decimal) -> None:
    if not price.is_finite():
        raise InvalidTick(
            TickProblem.NON_FINITE_PRICE,
            f"{inst.tradingsymbol} {field} is {price}; prices must be finite decimals; "
            "fix the producer (a NaN or Infinity usually means a failed division upstream)",
            instrument_token=inst.instrument_token,
        )


def _check_price(inst: Instrument, field: str, price: Decimal) -> None:
    _check_finite(inst, field, price)
    if price <= 0:
        raise InvalidTick(
            TickProblem.NON_POSITIVE_PRICE,
            f"{inst.tradingsymbol} {field} is {price}; traded prices must be positive; "
            "drop the tick at the source or send the field as absent",
            instrument_token=inst.instrument_token,
        )
    if not on_tick_grid(price, inst.tick_size):
        raise InvalidTick(
            TickProblem.OFF_TICK_GRID,
            f"{inst.tradingsymbol} {field} {price} is not a multiple of the tick size "
            f"{inst.tick_size}; round it with round_to_tick() or correct tick_size in the "
            "instrument master",
            instrument_token=inst.instrument_token,
        )


def _unordered(inst: Instrument, where: str, expected: str) -> None:
    raise InvalidTick(
        TickProblem.UNORDERED_DEPTH,
        f"{inst.tradingsymbol} {where} levels are out of order; they must be {expected}; "
        "check the decoder's level order",
        instrument_token=inst.instrument_token,
    )
