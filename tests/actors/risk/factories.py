"""Signals and fills for the risk engine tests."""

from __future__ import annotations

from decimal import Decimal

from actors.named_tick import NamedTick
from actors.risk.engine import Decision, RiskEngine
from actors.risk.limits import RiskLimits
from schemas.enums import OrderType, Side
from schemas.events import Charges, MarketTick, OrderFilled, TradingSignal

__all__ = [
    "A", "B", "D", "S", "STRATEGIES", "signal", "filled", "engine", "hold", "named", "evaluate",
]  # fmt: skip

D = Decimal
A, B = 408065, 738561
S = 1_000_000_000  # ns per second
#: the configuration the engines of these tests judge by: strategy "s" trades A and B
STRATEGIES = {"s": frozenset({A, B})}


def signal(
    side: Side = Side.BUY,
    quantity: int = 10,
    ref: str = "100",
    *,
    limit: str | None = None,
    token: int = A,
    order_type: OrderType | None = None,
) -> TradingSignal:
    return TradingSignal(
        strategy_id="s",
        instrument_token=token,
        side=side,
        quantity=quantity,
        reference_price=D(ref),
        order_type=order_type or (OrderType.LIMIT if limit else OrderType.MARKET),
        limit_price=D(limit) if limit else None,
    )


def filled(
    coid: str,
    side: Side,
    quantity: int,
    price: str,
    *,
    token: int = A,
    final: bool = True,
    n: int = 1,
    charges: str = "0",
) -> OrderFilled:
    return OrderFilled(
        client_order_id=coid,
        broker_order_id=f"P-{coid}",
        fill_id=f"{coid}-F{n}",
        strategy_id="s",
        instrument_token=token,
        side=side,
        quantity=quantity,
        price=D(price),
        cumulative_quantity=quantity,
        order_quantity=quantity,
        average_price=D(price),
        final=final,
        charges=Charges(brokerage=D(charges)),
    )


def engine(**limits: object) -> RiskEngine:
    return RiskEngine(RiskLimits(**limits), STRATEGIES)  # type: ignore[arg-type]


def named(price: str = "100", token: int = A, *, seq: int = 1) -> NamedTick:
    """A tick as risk read it from MARKET at sequence `seq`."""
    tick = MarketTick(instrument_token=token, last_price=D(price))
    return NamedTick(seq=seq, tick_id=f"tick-{seq}", ts=0, stored_ms=0, tick=tick)


def evaluate(eng: RiskEngine, sig: TradingSignal, ts_ns: int, client_order_id: str) -> Decision:
    """Judge `sig` against the tick its strategy saw: MARKET's last price is the signal's
    reference price (the tests of forged prices pass the tick themselves)."""
    market = named(str(sig.reference_price), sig.instrument_token)
    return eng.evaluate(sig, ts_ns, client_order_id, market)


def hold(eng: RiskEngine, side: Side, quantity: int, price: str, token: int = A) -> None:
    """Get a filled position through the engine, as the pipeline would."""
    coid = f"seed-{token}-{side}-{quantity}-{price}"
    assert evaluate(eng, signal(side, quantity, price, token=token), 0, coid).accepted
    eng.on_fill(filled(coid, side, quantity, price, token=token))
