"""Signals and fills for the risk engine tests."""

from __future__ import annotations

from decimal import Decimal

from actors.risk.engine import RiskEngine
from actors.risk.limits import RiskLimits
from schemas.enums import OrderType, Side
from schemas.events import Charges, OrderFilled, TradingSignal

__all__ = ["A", "B", "D", "S", "signal", "filled", "engine", "hold"]

D = Decimal
A, B = 408065, 738561
S = 1_000_000_000  # ns per second


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
    return RiskEngine(RiskLimits(**limits))  # type: ignore[arg-type]


def hold(eng: RiskEngine, side: Side, quantity: int, price: str, token: int = A) -> None:
    """Get a filled position through the engine, as the pipeline would."""
    coid = f"seed-{token}-{side}-{quantity}-{price}"
    assert eng.evaluate(signal(side, quantity, price, token=token), 0, coid).accepted
    eng.on_fill(filled(coid, side, quantity, price, token=token))
