"""Numbers as a desk reads them: rupees to the paisa with Indian digit grouping
(12,34,567.89), signed PnL with an explicit sign and a CSS class for its colour.

Figures arrive as JSON strings (Decimals travel as strings) or ints; anything that is not a
number is shown as it came, so a page never fails on an unexpected figure.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "ABSENT",
    "IST",
    "clock",
    "to_decimal",
    "group_indian",
    "money",
    "signed_money",
    "pnl_class",
    "count",
    "rate",
]

_PAISA = Decimal("0.01")
#: what an absent figure shows: an en dash, unlike a minus sign
ABSENT = "\u2013"


def to_decimal(value: Any) -> Decimal | None:
    """The value as a Decimal, or None when it is not a finite number (floats via str)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        d = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def group_indian(digits: str) -> str:
    """Group an unsigned run of digits the Indian way: last three, then pairs."""
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    pairs: list[str] = []
    while len(head) > 2:
        pairs.insert(0, head[-2:])
        head = head[:-2]
    return ",".join([head, *pairs, tail]) if head else ",".join([*pairs, tail])


def _format(d: Decimal, plus: bool) -> str:
    q = d.quantize(_PAISA)
    sign = "-" if q < 0 else ("+" if plus and q > 0 else "")
    whole, _, frac = f"{abs(q):f}".partition(".")
    return f"{sign}{group_indian(whole)}.{(frac + '00')[:2]}"


def money(value: Any) -> str:
    """₹ amount to the paisa, Indian grouping: 1234567.891 → "12,34,567.89"."""
    d = to_decimal(value)
    return ABSENT if d is None else _format(d, plus=False)


def signed_money(value: Any) -> str:
    """PnL with its sign: "+1,234.50", "-20.00", "0.00"."""
    d = to_decimal(value)
    return ABSENT if d is None else _format(d, plus=True)


def pnl_class(value: Any) -> str:
    """ "pos", "neg" or "zero": the CSS class that colours a PnL figure."""
    d = to_decimal(value)
    if d is None or d.quantize(_PAISA) == 0:
        return "zero"
    return "pos" if d > 0 else "neg"


def count(value: Any) -> str:
    """A whole count with Indian grouping; an en dash when absent."""
    d = to_decimal(value)
    if d is None:
        return ABSENT
    whole = int(d)
    return ("-" if whole < 0 else "") + group_indian(str(abs(whole)))


#: India Standard Time: the exchange's clock, what a desk reads times in
IST = timezone(timedelta(hours=5, minutes=30), "IST")


def clock(ts_ns: Any) -> str:
    """An event time (ns since the epoch) as IST wall time to the millisecond."""
    d = to_decimal(ts_ns)
    if d is None or d <= 0:
        return ABSENT
    seconds, ns = divmod(int(d), 10**9)  # integers: a float would lose the milliseconds
    at = datetime.fromtimestamp(seconds, UTC).astimezone(IST)
    return at.strftime("%H:%M:%S.") + f"{ns // 1_000_000:03d}"


def rate(value: Any) -> str:
    """A rate such as ticks/s, one decimal."""
    d = to_decimal(value)
    return ABSENT if d is None else f"{d.quantize(Decimal('0.1'))}"
