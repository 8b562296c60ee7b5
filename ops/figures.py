"""How figures read to a person: money to the paisa with thousands separators, counts with
separators. One place, so `status`, `portfolio` and the console agree.

The actors keep money exact (Decimal); a division such as an average price carries 28
significant digits, which is right for the ledger and wrong for a screen.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final

__all__ = ["PAISA", "to_paisa", "money", "signed_money", "is_money_key", "count"]

PAISA: Final = Decimal("0.01")

# figure names that hold rupees (the pipeline figures of risk and portfolio)
_MONEY_SUFFIXES: Final = ("_pnl", "charges", "equity", "cash", "turnover", "notional")


def to_paisa(value: Decimal | str | int | float) -> Decimal:
    """`value` rounded half up to the paisa; a float goes through its shortest repr."""
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    return d.quantize(PAISA, rounding=ROUND_HALF_UP)


def money(value: Any) -> str:
    """`1,234.57` for 1234.5678; what is not a number comes back as its text."""
    try:
        return f"{to_paisa(value):,}"
    except (InvalidOperation, ValueError, TypeError):
        return str(value)


def signed_money(value: Any) -> str:
    """`+1,234.57`, `-12.30`, `0.00`: PnL, where the sign is the news."""
    text = money(value)
    if text[:1].isdigit() and text.strip("0.,") != "":
        return "+" + text
    return text


def is_money_key(name: str) -> bool:
    return name.endswith(_MONEY_SUFFIXES)


def count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)
