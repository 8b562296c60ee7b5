"""Kite's instruments dump turned into the instrument master the app trades from.

`kite.instruments(exchange)` (the official client) answers one dict per row of Kite's CSV
dump. `import_rows` checks each row and keeps what the instrument book can hold, writing
the book's CSV (`actors.instruments.CSV_COLUMNS`, read by `InstrumentBook.from_csv`) plus
Kite's own columns that the book ignores but a person wants to see (`exchange_token`,
`segment`, `instrument_type`, `expiry`, `strike`). Point `ALPHA_PANDA_INSTRUMENTS` at the
file and strategies and risk resolve symbols, tick and lot sizes from it.

A row the book cannot hold is a finding that names its line in Kite's dump (header = line
1), its symbol and why; it is left out, never guessed. Index rows (segment `INDICES`, lot
size 0) are not tradable and are counted, not reported. `base_price` and
`annual_volatility` only seed the mock feed's walk: the dump's last price rounded to the
tick grid (or the shipped book's figure for a known token, or 100 when Kite sent 0), and
the shipped book's volatility or 0.25.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from actors.errors import InstrumentError
from actors.instruments import CSV_COLUMNS, Instrument, InstrumentBook, round_to_tick

__all__ = ["KITE_EXTRA_COLUMNS", "ImportResult", "import_rows", "write_book"]

KITE_EXTRA_COLUMNS = ("exchange_token", "segment", "instrument_type", "expiry", "strike")
DEFAULT_VOLATILITY = 0.25
PLACEHOLDER_PRICE = Decimal(100)
PROGRESS_EVERY = 10_000


@dataclass(frozen=True, slots=True)
class ImportedRow:
    instrument: Instrument
    exchange_token: str
    segment: str
    instrument_type: str
    expiry: str
    strike: str


@dataclass(slots=True)
class ImportResult:
    rows: list[ImportedRow] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    indices: int = 0
    seen: int = 0


def _decimal(value: Any) -> Decimal:
    """Kite's client parses tick sizes and prices as floats; their shortest repr is exact."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _instrument(row: Mapping[str, Any], known: InstrumentBook) -> ImportedRow:
    token = int(row.get("instrument_token") or 0)
    tick = _decimal(row.get("tick_size", ""))
    if tick <= 0:
        raise ValueError(f"tick_size {row.get('tick_size')!r} is not positive")
    lot = int(row.get("lot_size") or 0)
    shipped = known.get(token)
    last = _decimal(row.get("last_price") or 0)
    base = round_to_tick(last, tick) if last > 0 else Decimal(0)
    if base <= 0:
        base = shipped.base_price if shipped else round_to_tick(PLACEHOLDER_PRICE, tick)
    if base <= 0:
        base = tick
    inst = Instrument(
        instrument_token=token,
        tradingsymbol=str(row.get("tradingsymbol") or "").strip(),
        exchange=str(row.get("exchange") or "").strip().upper(),
        tick_size=tick,
        lot_size=lot,
        base_price=base,
        annual_volatility=shipped.annual_volatility if shipped else DEFAULT_VOLATILITY,
        name=str(row.get("name") or "").strip(),
    )
    expiry = row.get("expiry") or ""
    strike = row.get("strike") or 0
    strike_text = "" if not strike or float(strike) == 0 else str(_decimal(strike))
    return ImportedRow(
        instrument=inst,
        exchange_token=str(row.get("exchange_token") or token >> 8),
        segment=str(row.get("segment") or ""),
        instrument_type=str(row.get("instrument_type") or ""),
        expiry=expiry.isoformat() if isinstance(expiry, date) else str(expiry),
        strike=strike_text,
    )


def import_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    known: InstrumentBook | None = None,
    progress: Callable[[int], None] = lambda n: None,
) -> ImportResult:
    """Check Kite's rows (as `KiteConnect.instruments()` returns them) for the book."""
    known = known or InstrumentBook.default()
    result = ImportResult()
    tokens: dict[int, int] = {}
    symbols: dict[str, int] = {}
    for index, row in enumerate(rows):
        line = index + 2  # the dump's header is line 1
        result.seen += 1
        if result.seen % PROGRESS_EVERY == 0:
            progress(result.seen)
        symbol = str(row.get("tradingsymbol") or "?")
        if str(row.get("segment") or "").upper() == "INDICES":
            result.indices += 1
            continue
        try:
            imported = _instrument(row, known)
        except (ValueError, TypeError, InstrumentError) as exc:
            result.findings.append(f"line {line} ({symbol}): {exc}; left out")
            continue
        inst = imported.instrument
        if inst.instrument_token in tokens:
            result.findings.append(
                f"line {line} ({symbol}): instrument_token {inst.instrument_token} repeats "
                f"line {tokens[inst.instrument_token]}; left out"
            )
            continue
        key = inst.tradingsymbol.upper()
        if key in symbols:
            result.findings.append(
                f"line {line} ({symbol}): tradingsymbol repeats line {symbols[key]} (the book "
                "keys by symbol: import one exchange at a time with --exchange); left out"
            )
            continue
        tokens[inst.instrument_token], symbols[key] = line, line
        result.rows.append(imported)
    progress(result.seen)
    return result


def write_book(path: Path, rows: Iterable[ImportedRow]) -> int:
    """Write the book's CSV (atomically: a reader never sees half a file); rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with tmp.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow((*CSV_COLUMNS, *KITE_EXTRA_COLUMNS))
        for r in rows:
            i = r.instrument
            vol = i.annual_volatility if math.isfinite(i.annual_volatility) else DEFAULT_VOLATILITY
            out.writerow(
                (i.instrument_token, i.tradingsymbol, i.exchange, i.tick_size, i.lot_size,
                 i.base_price, vol, i.name, r.exchange_token, r.segment, r.instrument_type,
                 r.expiry, r.strike)
            )  # fmt: skip
            n += 1
    os.replace(tmp, path)
    return n
