"""One-minute candles from Kite's historical API, in the backtester's candle format.

Kite answers at most 60 days of minute candles per request and allows 3 historical
requests a second (docs/zerodha.md). `fetch_candles` walks the asked range in windows of
60 days less a minute (both ends are inclusive at Kite), spaces its requests at least a
third of a second apart, retries a 429 or a 5xx with backoff (the answer is read-only, so
a retry is harmless), and writes what `alpha-panda backtest --data FILE` reads
(`ops/backtest/candles.py`): `date,open,high,low,close,volume,instrument_token,symbol`,
one row per minute in time order, prices on the instrument's tick grid.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actors.instruments import Instrument, round_to_tick
from actors.kite.session_store import IST
from schemas.errors import ConfigError

if TYPE_CHECKING:
    from kiteconnect import KiteConnect

__all__ = [
    "WINDOW",
    "MIN_SPACING_S",
    "FetchResult",
    "windows",
    "fetch_candles",
    "parse_when",
    "KiteDataError",
]

#: Kite's limit for minute candles is 60 days a request; both ends are inclusive
WINDOW = timedelta(days=60) - timedelta(minutes=1)
#: 3 historical requests a second, client-side
MIN_SPACING_S = 1 / 3
RETRIES = 5
COLUMNS = ("date", "open", "high", "low", "close", "volume", "instrument_token", "symbol")


class KiteDataError(ConfigError):
    """Kite refused the request or the range is unusable; the message names the fix."""


@dataclass(slots=True)
class FetchResult:
    candles: int = 0
    requests: int = 0
    retries: int = 0
    elapsed_s: float = 0.0


def parse_when(text: str, *, end: bool) -> datetime:
    """`YYYY-MM-DD` (the whole day: 00:00 for --from, 23:59 for --to) or a full ISO time, IST."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise KiteDataError(
            f"{text!r} is not a date; write YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None
    if len(text) == 10 and end:
        when = when.replace(hour=23, minute=59)
    if when.tzinfo is None:
        when = when.replace(tzinfo=IST)
    return when.astimezone(IST).replace(second=0, microsecond=0)


def windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The requests that cover [start, end]: each within Kite's 60-day limit, none overlap."""
    out = []
    at = start
    while at <= end:
        stop = min(end, at + WINDOW)
        out.append((at, stop))
        at = stop + timedelta(minutes=1)
    return out


class _Spacer:
    """Keeps request starts at least `spacing_s` apart (Kite's 3/s on historical)."""

    def __init__(self, spacing_s: float) -> None:
        self.spacing_s = spacing_s
        self.last = -1e9

    def wait(self) -> None:
        delay = self.last + self.spacing_s - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self.last = time.monotonic()


def _request(kite: KiteConnect, token: int, a: datetime, b: datetime, result: FetchResult,
             spacer: _Spacer) -> list[dict[str, Any]]:  # fmt: skip
    from kiteconnect import exceptions as kex

    fmt = "%Y-%m-%d %H:%M:%S"
    for attempt in range(RETRIES + 1):
        spacer.wait()
        result.requests += 1
        try:
            rows: list[dict[str, Any]] = kite.historical_data(
                token, a.strftime(fmt), b.strftime(fmt), "minute"
            )
            return rows
        except kex.TokenException:
            raise KiteDataError(
                "Kite refused the access token (TokenException): it expired at 06:00 IST or "
                "was logged out; run `alpha-panda zerodha login`"
            ) from None
        except kex.NetworkException as exc:
            if attempt == RETRIES:
                raise KiteDataError(
                    f"Kite kept failing ({exc.code}: {exc}) after {RETRIES} retries; try later"
                ) from None
            result.retries += 1
            time.sleep(min(8.0, 0.5 * 2**attempt))
        except kex.KiteException as exc:
            raise KiteDataError(
                f"Kite refused candles {a:%Y-%m-%d %H:%M}..{b:%Y-%m-%d %H:%M} of {token} "
                f"({type(exc).__name__}: {exc})"
            ) from None
    raise AssertionError("unreachable")


def fetch_candles(
    kite: KiteConnect,
    inst: Instrument,
    start: datetime,
    end: datetime,
    out: Path,
    *,
    spacing_s: float = MIN_SPACING_S,
    progress: Callable[[str], None] = lambda line: None,
) -> FetchResult:
    """Fetch [start, end] of `inst`'s minute candles through `kite` into `out`."""
    if end < start:
        raise KiteDataError(f"--to {end:%Y-%m-%d %H:%M} is before --from {start:%Y-%m-%d %H:%M}")
    result = FetchResult()
    spacer = _Spacer(spacing_s)
    began = time.monotonic()
    parts = windows(start, end)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    last: datetime | None = None
    with tmp.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        for n, (a, b) in enumerate(parts, 1):
            for row in sorted(_request(kite, inst.instrument_token, a, b, result, spacer),
                              key=lambda r: r["date"]):  # fmt: skip
                when: datetime = row["date"]
                if last is not None and when <= last:
                    continue  # a repeat at a window's edge
                last = when
                prices = [
                    round_to_tick(Decimal(str(row[k])), inst.tick_size)
                    for k in ("open", "high", "low", "close")
                ]
                writer.writerow(
                    (when.strftime("%Y-%m-%dT%H:%M:%S%z"), *prices, int(row["volume"]),
                     inst.instrument_token, inst.tradingsymbol)
                )  # fmt: skip
                result.candles += 1
            progress(f"window {n}/{len(parts)} ({a:%Y-%m-%d}..{b:%Y-%m-%d}): "
                     f"{result.candles} candles")  # fmt: skip
    os.replace(tmp, out)
    result.elapsed_s = time.monotonic() - began
    return result
