"""The four Kite reports reconciliation compares with our ledger, fetched one by one.

`fetch_reports` asks the official client for the order book, the trade book, the net
positions and the holdings, each on its own: one report failing (a 5xx, a 429 that outlasts
the bounded retry, a timeout, an expired session) leaves that report `None` and the others
fetched. `None` means "Kite did not tell us", never "nothing there": a missing positions
report is not a flat position, and `reconcile` fails closed on it.

It is synchronous, as the official client is; the caller runs it in a worker thread so Kite
I/O never blocks an actor's mailbox.

Kite's JSON carries prices as floats (`1234.55`); `kite_price` turns one into an exact
`Decimal` through its shortest decimal spelling (`str(float)`), quantized to paise, so no
float arithmetic ever touches a price.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

import msgspec

from schemas.enums import Side

if TYPE_CHECKING:
    from kiteconnect import KiteConnect

__all__ = [
    "KiteReports",
    "KiteOrderRow",
    "KiteTrade",
    "ReportError",
    "REPORT_NAMES",
    "fetch_reports",
    "kite_price",
    "parse_orders",
    "parse_trades",
    "net_quantities",
    "PAISE",
]

log = logging.getLogger(__name__)

PAISE = Decimal("0.01")
REPORT_NAMES = ("orders", "trades", "positions", "holdings")
# HTTP answers worth one more try: Kite's rate limit and its transient server errors.
_RETRY_CODES = frozenset({429, 500, 502, 503, 504})


class KiteReports(msgspec.Struct, frozen=True):
    """What Kite answered at `fetched_ns`; a report that could not be fetched is `None`."""

    orders: list[dict[str, Any]] | None
    trades: list[dict[str, Any]] | None
    positions: list[dict[str, Any]] | None  # the "net" list of /portfolio/positions
    holdings: list[dict[str, Any]] | None
    fetched_ns: int

    @property
    def missing(self) -> list[str]:
        """The names of the reports Kite did not give, in fetch order."""
        return [name for name in REPORT_NAMES if getattr(self, name) is None]


class KiteOrderRow(msgspec.Struct, frozen=True, kw_only=True):
    """The fields of an order-book row that reconciliation reads; `side` as Kite spells it."""

    order_id: str
    tag: str | None
    instrument_token: int
    tradingsymbol: str
    side: str
    quantity: int
    filled_quantity: int
    status: str
    status_message: str | None
    average_price: Decimal

    @property
    def is_open(self) -> bool:
        """Still able to fill: neither complete, rejected nor cancelled."""
        return self.status not in ("COMPLETE", "REJECTED") and not self.status.startswith(
            "CANCELLED"
        )


class KiteTrade(msgspec.Struct, frozen=True, kw_only=True):
    """One execution from the trade book; `price` exact rupees."""

    trade_id: str
    order_id: str
    instrument_token: int
    side: Side
    quantity: int
    price: Decimal
    fill_timestamp: str | None = None


def kite_price(value: Any) -> Decimal:
    """A Kite price (float, int or string) as exact rupees, quantized to paise.

    `Decimal(str(1234.55))` is `Decimal("1234.55")`: `str` of a float is the shortest
    spelling that reads back as the same float, which is the decimal Kite sent. Every NSE
    tick size is a whole number of paise, so quantizing to paise keeps a price on its tick;
    an average over several fills is rounded half-even to paise.
    """
    if value is None or isinstance(value, bool):
        return Decimal(0).quantize(PAISE)
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int | float | str):
        d = Decimal(str(value))
    else:
        raise TypeError(f"a Kite price must be a number, got {type(value).__name__}")
    if not d.is_finite():
        raise ValueError(f"a Kite price must be finite, got {value!r}")
    return d.quantize(PAISE, rounding=ROUND_HALF_EVEN)


def fetch_reports(
    kite: KiteConnect,
    now_ns: int,
    *,
    attempts: int = 3,
    backoff_s: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
) -> KiteReports:
    """Fetch the four reports, each separately; a failing one is `None` (see the module).

    A retriable failure (429, 5xx, a network error or timeout) is retried up to `attempts`
    times in all, waiting `backoff_s`, then twice that, between tries (Kite's other
    endpoints allow 10 requests a second, so a short wait clears a 429). A `TokenException`
    or any other answer is not retried: another try cannot fix it.
    """
    calls: dict[str, Callable[[], Any]] = {
        "orders": kite.orders,
        "trades": kite.trades,
        "positions": lambda: _net(kite.positions()),
        "holdings": kite.holdings,
    }
    got = {name: _fetch(name, call, attempts, backoff_s, sleep) for name, call in calls.items()}
    return KiteReports(fetched_ns=now_ns, **got)


def _net(positions: Any) -> Any:
    if not isinstance(positions, dict) or "net" not in positions:
        raise ValueError("the positions report has no 'net' list")
    return positions["net"]


def _fetch(
    name: str,
    call: Callable[[], Any],
    attempts: int,
    backoff_s: float,
    sleep: Callable[[float], None],
) -> list[dict[str, Any]] | None:
    for attempt in range(1, max(1, attempts) + 1):
        try:
            rows = call()
        except Exception as exc:  # every failure is a missing report, never a crash
            retry = _retriable(exc) and attempt < attempts
            # the exception's class, HTTP code and message only: the client's own messages
            # never carry the access token, and we never log the request or its headers
            log.warning(
                "kite %s report failed (attempt %d/%d, %s): %s%s",
                name,
                attempt,
                attempts,
                _describe(exc),
                _first_line(exc),
                "; retrying" if retry else "; the report is missing",
            )
            if not retry:
                return None
            sleep(backoff_s * 2 ** (attempt - 1))
            continue
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            log.warning("kite %s report is not a list of objects; the report is missing", name)
            return None
        return rows
    return None


def _retriable(exc: Exception) -> bool:
    from kiteconnect import exceptions as kex
    from requests import exceptions as rex

    if isinstance(exc, kex.TokenException | kex.PermissionException | kex.InputException):
        return False
    if isinstance(exc, kex.KiteException):
        return exc.code in _RETRY_CODES or isinstance(exc, kex.NetworkException)
    return isinstance(exc, rex.ConnectionError | rex.Timeout)


def _describe(exc: Exception) -> str:
    code = getattr(exc, "code", None)
    return f"{type(exc).__name__} {code}" if code is not None else type(exc).__name__


def _first_line(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text[:200]


class ReportError(ValueError):
    """A report whose rows do not follow Kite's shape: it counts as missing."""

    retriable = False


def parse_orders(name: str, rows: list[dict[str, Any]]) -> list[KiteOrderRow]:
    """The order book's rows, typed; a row that makes no sense raises `ReportError`."""
    out = []
    for i, row in enumerate(rows):
        tag = row.get("tag")
        out.append(
            KiteOrderRow(
                order_id=_str(row, "order_id", i),
                tag=tag if isinstance(tag, str) and tag else None,
                instrument_token=_int(row, "instrument_token", i),
                tradingsymbol=str(row.get("tradingsymbol") or ""),
                side=_str(row, "transaction_type", i),
                quantity=_int(row, "quantity", i),
                filled_quantity=_int(row, "filled_quantity", i),
                status=_str(row, "status", i),
                status_message=row.get("status_message"),
                average_price=_price(row, "average_price", i),
            )
        )
    return out


def parse_trades(name: str, rows: list[dict[str, Any]]) -> list[KiteTrade]:
    """The trade book's rows, typed, prices exact."""
    out = []
    for i, row in enumerate(rows):
        side = _str(row, "transaction_type", i)
        if side not in ("BUY", "SELL"):
            raise ReportError(f"row {i} has transaction_type {side!r}")
        stamp = row.get("fill_timestamp")
        out.append(
            KiteTrade(
                trade_id=_str(row, "trade_id", i),
                order_id=_str(row, "order_id", i),
                instrument_token=_int(row, "instrument_token", i),
                side=Side(side),
                quantity=_int(row, "quantity", i),
                price=_price(row, "average_price", i),
                fill_timestamp=None if stamp is None else str(stamp),
            )
        )
    return out


def net_quantities(name: str, rows: list[dict[str, Any]]) -> dict[int, int]:
    """Net quantity per token: positions' `quantity` summed over products; holdings'
    `quantity + t1_quantity` (shares settled and shares awaiting settlement)."""
    out: dict[int, int] = defaultdict(int)
    for i, row in enumerate(rows):
        qty = _int(row, "quantity", i)
        if name == "holdings":
            qty += _int(row, "t1_quantity", i, default=0)
        out[_int(row, "instrument_token", i)] += qty
    return dict(out)


def _str(row: dict[str, Any], key: str, i: int) -> str:
    value = row.get(key)
    if value is None or value == "":
        raise ReportError(f"row {i} has no {key}")
    return str(value)


def _int(row: dict[str, Any], key: str, i: int, default: int | None = None) -> int:
    value = row.get(key, default)
    try:
        whole = (
            not isinstance(value, bool) and isinstance(value, int | float) and value == int(value)
        )
    except (ValueError, OverflowError):  # nan, inf
        whole = False
    if not whole:
        raise ReportError(f"row {i} has {key} {value!r}, not a whole number")
    return int(value)  # type: ignore[arg-type]


def _price(row: dict[str, Any], key: str, i: int) -> Decimal:
    try:
        return kite_price(row.get(key))
    except (TypeError, ValueError) as exc:
        raise ReportError(f"row {i} has {key} {row.get(key)!r}: {exc}") from None
