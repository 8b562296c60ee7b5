"""Kite's input rules as the simulator checks them, and the error Kite answers with."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from actors.instruments import Instrument

__all__ = ["KiteError", "input_error", "check_protection", "form_int", "form_price"]


class KiteError(Exception):
    """An error Kite would answer: its `error_type`, message and HTTP status."""

    def __init__(self, error_type: str, message: str, status: int) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.status = status


def input_error(message: str) -> KiteError:
    return KiteError("InputException", message, 400)


def check_protection(value: str | None) -> None:
    if value is None or value == "":
        raise input_error(
            "Market orders without market protection are not allowed via API. "
            "Please set market protection or use a Limit order."
        )
    try:
        protection = Decimal(value)
    except InvalidOperation:
        protection = Decimal(-2)
    if protection != -1 and not 0 < protection <= 100:
        raise input_error(
            "Invalid `market_protection`: use -1 (automatic) or a percentage in (0, 100]."
        )


def form_int(form: Mapping[str, str], name: str) -> int:
    try:
        return int(form.get(name, ""))
    except ValueError:
        raise input_error(f"Invalid `{name}`: a whole number is required.") from None


def form_price(form: Mapping[str, str], name: str, inst: Instrument) -> Decimal:
    try:
        price = Decimal(form.get(name, ""))
    except InvalidOperation:
        raise input_error(f"Invalid `{name}`: a price is required.") from None
    if price <= 0 or price % inst.tick_size:
        raise input_error(
            f"Invalid `{name}`: must be a positive multiple of tick {inst.tick_size}."
        )
    return price
