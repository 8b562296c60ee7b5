"""Numbers the way a trading desk reads them; "n/a" wherever a figure is undefined.

Rupees: thousands separators and 2 decimals (paise), rounded half up. PnL carries its sign.
Percentages: 2 decimals. Ratios: 2 decimals.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

__all__ = ["NA", "paise", "rupees", "signed_rupees", "percent", "ratio", "count", "tone"]

NA = "n/a"
_PAISE = Decimal("0.01")


def paise(amount: Decimal) -> Decimal:
    """Rounded to the paisa, half up (how amounts are shown and written to report.json)."""
    return amount.quantize(_PAISE, rounding=ROUND_HALF_UP) + 0  # + 0 turns -0.00 into 0.00


def rupees(amount: Decimal | None) -> str:
    """1,234,567.89"""
    return NA if amount is None else f"{paise(amount):,.2f}"


def signed_rupees(amount: Decimal | None) -> str:
    """+1,234.56 or -1,234.56 (0.00 unsigned)."""
    if amount is None:
        return NA
    shown = paise(amount)
    return f"{shown:+,.2f}" if shown else "0.00"


def percent(fraction: float | None, *, signed: bool = False) -> str:
    """0.1234 → 12.34% (or +12.34% when signed)."""
    if fraction is None:
        return NA
    value = round(fraction * 100, 2) + 0.0  # + 0.0 turns -0.0 into 0.0
    if signed and value:
        return f"{value:+,.2f}%"
    return f"{value:,.2f}%"


def ratio(value: float | None) -> str:
    return NA if value is None else f"{value:,.2f}"


def count(value: int) -> str:
    return f"{value:,}"


def tone(value: Decimal | float | None) -> str:
    """The CSS class for a signed figure: "pos", "neg" or "" (zero, undefined)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        value = paise(value)
    return "pos" if value > 0 else "neg" if value < 0 else ""
