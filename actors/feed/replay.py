"""Recorded ticks as CSV, and the pacing of their replay (real time or accelerated).

The format, one tick per row, header first (column order free, names exact):

| column | required | meaning |
| --- | --- | --- |
| `ts` | yes | event time: integer ns since the epoch, or ISO-8601 with a UTC offset |
| `instrument_token` | yes | Kite instrument token (positive integer) |
| `last_price` | yes | last traded price (decimal) |
| `volume` | yes | cumulative volume traded today (integer) |
| `symbol` | no | trading symbol |
| `last_traded_quantity`, `total_buy_quantity`, `total_sell_quantity`, `oi` | no | integers |
| `average_traded_price`, `change` | no | decimals |
| `open`, `high`, `low`, `close` | no | day OHLC (all four or none) |
| `bid`, `bid_qty`, `ask`, `ask_qty` | no | best level of the book |

Empty cells mean absent. Depth beyond the best level is not recorded.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

from actors.errors import TickCsvError
from schemas.events import Depth, DepthLevel, MarketTick, Ohlc

__all__ = [
    "CSV_COLUMNS",
    "REQUIRED_COLUMNS",
    "read_ticks_csv",
    "read_tick_lines",
    "parse_tick_rows",
    "write_ticks_csv",
    "TickCsvWriter",
    "ReplayClock",
    "pacing_delays",
]

REQUIRED_COLUMNS = ("ts", "instrument_token", "last_price", "volume")
CSV_COLUMNS = (
    *REQUIRED_COLUMNS,
    "symbol",
    "last_traded_quantity",
    "average_traded_price",
    "total_buy_quantity",
    "total_sell_quantity",
    "open",
    "high",
    "low",
    "close",
    "change",
    "bid",
    "bid_qty",
    "ask",
    "ask_qty",
    "oi",
)
_OHLC = ("open", "high", "low", "close")
_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")
T = TypeVar("T")


def read_ticks_csv(path: str | Path) -> Iterator[tuple[int, MarketTick]]:
    """Yield `(ts_ns, tick)` per row, lazily; raises `TickCsvError` on the first bad row."""
    for _line, ts, tick in read_tick_lines(path):
        yield ts, tick


def read_tick_lines(path: str | Path) -> Iterator[tuple[int, int, MarketTick]]:
    """Yield `(line, ts_ns, tick)` per row, lazily: `read_ticks_csv` with line numbers."""
    name = str(path)
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]
        rows = ((reader.line_num, row) for row in reader)
        yield from parse_tick_rows(name, header, rows)


def parse_tick_rows(
    name: str, header: Sequence[str], rows: Iterable[tuple[int, Sequence[str]]]
) -> Iterator[tuple[int, int, MarketTick]]:
    """Parse rows of cells (with their line or row numbers) under `header`, in this format.

    The one parser of the format, for any container of its columns (CSV, Parquet, ...).
    """
    header = list(header)
    _check_header(name, header)
    for line, row in rows:
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise TickCsvError(
                name,
                line,
                None,
                f"{len(row)} cells but the header has {len(header)}; "
                "quote cells that contain commas",
            )
        cells = {h: c.strip() for h, c in zip(header, row, strict=True)}
        ts, tick = _RowParser(name, line, cells).tick()
        yield line, ts, tick


def write_ticks_csv(path: str | Path, ticks: Iterable[tuple[int, MarketTick]]) -> int:
    """Write ticks in the format `read_ticks_csv` reads (all columns); returns the count."""
    with TickCsvWriter(path) as writer:
        for ts_ns, tick in ticks:
            writer.write(ts_ns, tick)
        return writer.count


class TickCsvWriter:
    """`write_ticks_csv` one tick at a time (a recording): header first, `flush()` at will."""

    def __init__(self, path: str | Path) -> None:
        self._fh = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115 - see close
        self._writer = csv.writer(self._fh, lineterminator="\n")
        self._writer.writerow(CSV_COLUMNS)
        self.count = 0

    def write(self, ts_ns: int, tick: MarketTick) -> None:
        self._writer.writerow(_row_of_tick(ts_ns, tick))
        self.count += 1

    def flush(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> TickCsvWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ReplayClock:
    """When each replayed tick is due, in seconds after the replay started.

    `speed` 1 is real time, 10 ten times faster, 0 (or infinity) as fast as possible.
    `max_gap_s` caps a gap of market time (a night, a lunch halt) so replay does not
    sleep through it. Ticks whose time runs backwards are due immediately after the
    previous one. Feed ticks in order; the clock keeps the market time seen so far.
    """

    def __init__(self, speed: float = 1.0, *, max_gap_s: float | None = None) -> None:
        if math.isnan(speed) or speed < 0:
            raise ValueError(f"speed must be >= 0 (0 = as fast as possible), got {speed}")
        if max_gap_s is not None and not max_gap_s >= 0:
            raise ValueError(f"max_gap_s must be >= 0, got {max_gap_s}")
        self.speed = speed
        self.max_gap_s = max_gap_s
        self._last_ts: int | None = None
        self._market_s = 0.0

    def due_s(self, ts_ns: int) -> float:
        """Seconds after the start at which the tick stamped `ts_ns` should be sent."""
        if self._last_ts is not None:
            gap = max(0, ts_ns - self._last_ts) / 1e9
            if self.max_gap_s is not None:
                gap = min(gap, self.max_gap_s)
            self._market_s += gap
        self._last_ts = ts_ns if self._last_ts is None else max(ts_ns, self._last_ts)
        if self.speed == 0 or math.isinf(self.speed):
            return 0.0
        return self._market_s / self.speed

    def wait_s(self, ts_ns: int, elapsed_s: float) -> float:
        """How long to sleep before sending, given the wall time elapsed since the start.

        Anchoring on the start (not the previous tick) keeps slow sends from drifting.
        """
        return max(0.0, self.due_s(ts_ns) - elapsed_s)


def pacing_delays(
    timestamps: Sequence[int], speed: float = 1.0, *, max_gap_s: float | None = None
) -> list[float]:
    """The wait before each tick, after the previous one (the first waits 0)."""
    clock = ReplayClock(speed, max_gap_s=max_gap_s)
    dues = [clock.due_s(ts) for ts in timestamps]
    return [due - prev for prev, due in zip([0.0, *dues], dues, strict=False)]


def _check_header(path: str, header: list[str]) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise TickCsvError(
            path, 1, missing[0], f"missing; the header must name {', '.join(REQUIRED_COLUMNS)}"
        )
    for column in header:
        if column not in CSV_COLUMNS:
            raise TickCsvError(
                path, 1, column, f"unknown column; known columns: {', '.join(CSV_COLUMNS)}"
            )
    dupes = {c for c in header if header.count(c) > 1}
    if dupes:
        raise TickCsvError(path, 1, sorted(dupes)[0], "appears twice; keep one")
    present = [c for c in _OHLC if c in header]
    if present and len(present) != len(_OHLC):
        absent = [c for c in _OHLC if c not in header]
        raise TickCsvError(path, 1, absent[0], "missing; give all of open, high, low, close")


class _RowParser:
    def __init__(self, path: str, line: int, cells: dict[str, str]) -> None:
        self.path, self.line, self.cells = path, line, cells

    def fail(self, column: str, message: str) -> TickCsvError:
        return TickCsvError(self.path, self.line, column, message)

    def opt(self, column: str, convert: Callable[[str, str], T]) -> T | None:
        text = self.cells.get(column, "")
        return convert(column, text) if text else None

    def req(self, column: str, convert: Callable[[str, str], T]) -> T:
        value = self.opt(column, convert)
        if value is None:
            raise self.fail(column, "is empty; every row needs a value here")
        return value

    def integer(self, column: str, text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise self.fail(column, f"{text!r} is not an integer") from None
        if value < 0:
            raise self.fail(column, f"{value} is negative; counts are >= 0")
        return value

    def decimal(self, column: str, text: str) -> Decimal:
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise self.fail(column, f"{text!r} is not a decimal number") from None
        if not value.is_finite():
            raise self.fail(column, f"{text!r} is not finite; write a number or leave it empty")
        return value

    def timestamp(self, column: str, text: str) -> int:
        if text.lstrip("-").isdigit():
            return int(text)
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise self.fail(column, f"{text!r} is neither integer ns nor ISO-8601") from None
        if when.tzinfo is None:
            raise self.fail(column, f"{text!r} has no UTC offset; add one, e.g. +05:30")
        delta = when - _EPOCH
        return (delta // timedelta(microseconds=1)) * 1000

    def tick(self) -> tuple[int, MarketTick]:
        ts = self.req("ts", self.timestamp)
        token = self.req("instrument_token", self.integer)
        if token == 0:
            raise self.fail("instrument_token", "0 is not a Kite instrument token")
        ohlc_values = [self.opt(c, self.decimal) for c in _OHLC]
        ohlc = None
        if any(v is not None for v in ohlc_values):
            if any(v is None for v in ohlc_values):
                empty = _OHLC[ohlc_values.index(None)]
                raise self.fail(empty, "is empty; give all of open, high, low, close or none")
            o, h, lo, c = (v for v in ohlc_values if v is not None)
            ohlc = Ohlc(open=o, high=h, low=lo, close=c)
        bid, ask = self.opt("bid", self.decimal), self.opt("ask", self.decimal)
        depth = None
        if bid is not None or ask is not None:
            depth = Depth(
                buy=[DepthLevel(price=bid, quantity=self.opt("bid_qty", self.integer) or 0)]
                if bid is not None
                else [],
                sell=[DepthLevel(price=ask, quantity=self.opt("ask_qty", self.integer) or 0)]
                if ask is not None
                else [],
            )
        tick = MarketTick(
            instrument_token=token,
            last_price=self.req("last_price", self.decimal),
            symbol=self.cells.get("symbol") or None,
            last_traded_quantity=self.opt("last_traded_quantity", self.integer) or 0,
            average_traded_price=self.opt("average_traded_price", self.decimal),
            volume_traded=self.req("volume", self.integer),
            total_buy_quantity=self.opt("total_buy_quantity", self.integer) or 0,
            total_sell_quantity=self.opt("total_sell_quantity", self.integer) or 0,
            ohlc=ohlc,
            change=self.opt("change", self.decimal),
            exchange_timestamp_ns=ts,
            oi=self.opt("oi", self.integer) or 0,
            depth=depth,
        )
        return ts, tick


def _row_of_tick(ts_ns: int, tick: MarketTick) -> list[str]:
    def s(value: object) -> str:
        return "" if value is None else str(value)

    ohlc = tick.ohlc
    best_bid = tick.depth.buy[0] if tick.depth and tick.depth.buy else None
    best_ask = tick.depth.sell[0] if tick.depth and tick.depth.sell else None
    return [
        str(ts_ns),
        str(tick.instrument_token),
        str(tick.last_price),
        str(tick.volume_traded),
        s(tick.symbol),
        str(tick.last_traded_quantity),
        s(tick.average_traded_price),
        str(tick.total_buy_quantity),
        str(tick.total_sell_quantity),
        *(s(getattr(ohlc, c)) if ohlc else "" for c in _OHLC),
        s(tick.change),
        s(best_bid.price if best_bid else None),
        s(best_bid.quantity if best_bid else None),
        s(best_ask.price if best_ask else None),
        s(best_ask.quantity if best_ask else None),
        str(tick.oi),
    ]
