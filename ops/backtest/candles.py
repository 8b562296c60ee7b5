"""One-minute candles in Kite's historical format, expanded into ticks.

The format, one candle per row, header first (column order free, names exact):

| column | required | meaning |
| --- | --- | --- |
| `date` | yes | the minute's start, ISO-8601, e.g. `2024-01-01T09:15:00+0530` (no offset: IST) |
| `open`, `high`, `low`, `close` | yes | prices (decimal, on the instrument's tick grid) |
| `volume` | yes | shares traded in the minute (integer) |
| `oi` | no | open interest (integer) |
| `instrument_token` or `symbol` | no | the instrument; without either, the file's name is |

A file without an instrument column holds one instrument, named by its file name:
`INFY.csv` or `408065.csv`. Instruments resolve through the instrument master
(`actors/data/instruments.csv`).

**Candle to ticks.** Each candle becomes four ticks at fixed offsets within its minute:
open at +0 s, the two extremes at +20 s and +40 s, close at +59 s. A rising or flat candle
(close >= open) visits the low first (O→L→H→C), a falling one the high first (O→H→L→C):
the shortest path through the four prices, the usual bar-to-tick approximation. The
minute's volume is split into four equal integer parts, the remainder going to the
close; `volume_traded` is the day's cumulative volume, as in a live tick, and `ohlc` the
day's open, high and low so far with the previous day's last close as `close`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from actors.instruments import Instrument, InstrumentBook, on_tick_grid
from ops.backtest.errors import DataError
from schemas.events import MarketTick, Ohlc

__all__ = [
    "CANDLE_COLUMNS",
    "IST",
    "TICK_OFFSETS_S",
    "Candle",
    "parse_candle_rows",
    "candle_ticks",
    "is_candle_header",
]

IST = timezone(timedelta(hours=5, minutes=30))
REQUIRED = ("date", "open", "high", "low", "close", "volume")
CANDLE_COLUMNS = (*REQUIRED, "oi", "instrument_token", "symbol")
TICK_OFFSETS_S = (0, 20, 40, 59)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS = 1_000_000_000


def is_candle_header(header: Sequence[str]) -> bool:
    return "date" in header and "open" in header


@dataclass(frozen=True, slots=True)
class Candle:
    line: int
    start_ns: int
    instrument: Instrument
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    oi: int = 0

    @property
    def day(self) -> date:
        return datetime.fromtimestamp(self.start_ns / _NS, IST).date()


def parse_candle_rows(
    name: str,
    header: Sequence[str],
    rows: Iterable[tuple[int, Sequence[str]]],
    book: InstrumentBook,
    file_instrument: Instrument | None,
) -> Iterator[Candle]:
    """Candles of one file; `file_instrument` is the instrument its name gives, if any."""
    header = [h.strip() for h in header]
    for column in header:
        if column not in CANDLE_COLUMNS:
            raise DataError(
                f"unknown column; known columns: {', '.join(CANDLE_COLUMNS)}",
                path=name, line=1, column=column,
            )  # fmt: skip
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise DataError(f"missing; the header must name {', '.join(REQUIRED)}",
                        path=name, line=1, column=missing[0])  # fmt: skip
    has_column = "instrument_token" in header or "symbol" in header
    if not has_column and file_instrument is None:
        raise DataError(
            "no instrument_token or symbol column, and the file name is no known instrument; "
            "name the file by symbol or token (e.g. INFY.csv) or add a symbol column",
            path=name,
        )
    for line, row in rows:
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise DataError(f"{len(row)} cells but the header has {len(header)}; "
                            "quote cells that contain commas", path=name, line=line)  # fmt: skip
        cells = {h: c.strip() for h, c in zip(header, row, strict=True)}
        yield _Row(name, line, cells, book).candle(file_instrument)


class _Row:
    def __init__(self, name: str, line: int, cells: dict[str, str], book: InstrumentBook) -> None:
        self.name, self.line, self.cells, self.book = name, line, cells, book

    def fail(self, column: str | None, message: str) -> DataError:
        return DataError(message, path=self.name, line=self.line, column=column)

    def decimal(self, column: str, inst: Instrument) -> Decimal:
        text = self.cells[column]
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise self.fail(
                column, f"{text!r} is not a decimal number; write e.g. 1399.75"
            ) from None
        if not value.is_finite() or value <= 0:
            raise self.fail(column, f"{text!r} is not a positive price; correct or drop the row")
        if not on_tick_grid(value, inst.tick_size):
            raise self.fail(
                column,
                f"{value} is off the tick grid of {inst.tradingsymbol} "
                f"({inst.tick_size}); round it to a multiple",
            )
        return value

    def integer(self, column: str) -> int:
        text = self.cells.get(column, "")
        if not text:
            return 0
        try:
            value = int(text)
        except ValueError:
            raise self.fail(column, f"{text!r} is not an integer; write a whole number") from None
        if value < 0:
            raise self.fail(column, f"{value} is negative; counts are >= 0")
        return value

    def start_ns(self) -> int:
        text = self.cells["date"]
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise self.fail(
                "date", f"{text!r} is not ISO-8601; write e.g. 2024-01-01T09:15:00+0530"
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=IST)
        if when.second or when.microsecond:
            raise self.fail("date", f"{text!r} is not the start of a minute; these are one-minute "
                                    "candles, stamped at the minute (09:15:00)")  # fmt: skip
        return ((when - _EPOCH) // timedelta(microseconds=1)) * 1000

    def instrument(self, file_instrument: Instrument | None) -> Instrument:
        token, symbol = self.cells.get("instrument_token", ""), self.cells.get("symbol", "")
        found = None
        for column, ref in (("instrument_token", token), ("symbol", symbol)):
            if not ref:
                continue
            inst = self.book.resolve(ref)
            if inst is None:
                raise self.fail(column, f"{ref!r} is not in the instrument master; add it to "
                                        "actors/data/instruments.csv or drop its rows")  # fmt: skip
            if found is not None and inst is not found:
                raise self.fail(column, f"{ref!r} is not instrument_token {token}; make them agree")
            found = inst
        if found is None:
            if file_instrument is None:
                raise self.fail("symbol", "is empty; every row needs its instrument")
            return file_instrument
        return found

    def candle(self, file_instrument: Instrument | None) -> Candle:
        inst = self.instrument(file_instrument)
        start = self.start_ns()
        o, h, lo, c = (self.decimal(col, inst) for col in ("open", "high", "low", "close"))
        if h < max(o, c, lo) or lo > min(o, c):
            raise self.fail("high", f"high {h} and low {lo} do not bound open {o} and close {c}; "
                                    "the row is corrupt: correct or drop it")  # fmt: skip
        return Candle(
            self.line, start, inst, o, h, lo, c, self.integer("volume"), self.integer("oi")
        )


class _DayState:
    __slots__ = ("close", "day", "high", "low", "open", "volume")

    def __init__(self, day: date, open_: Decimal, prev_close: Decimal) -> None:
        self.day, self.open, self.high, self.low = day, open_, open_, open_
        self.close, self.volume = prev_close, 0


def candle_ticks(candles: Iterable[Candle]) -> Iterator[MarketTick]:
    """The four ticks of each candle (one instrument's candles in time order per token)."""
    days: dict[int, _DayState] = {}
    last_close: dict[int, Decimal] = {}
    for cn in candles:
        token = cn.instrument.instrument_token
        state = days.get(token)
        day = cn.day
        if state is None or state.day != day:
            state = _DayState(day, cn.open, last_close.get(token, cn.open))
            days[token] = state
        path = (cn.open, cn.low, cn.high, cn.close) if cn.close >= cn.open else (
            cn.open, cn.high, cn.low, cn.close)  # fmt: skip
        part, rest = divmod(cn.volume, 4)
        for k, (offset, price) in enumerate(zip(TICK_OFFSETS_S, path, strict=True)):
            qty = part + (rest if k == 3 else 0)
            state.volume += qty
            state.high, state.low = max(state.high, price), min(state.low, price)
            ts = cn.start_ns + offset * _NS
            yield MarketTick(
                instrument_token=token,
                last_price=price,
                symbol=cn.instrument.tradingsymbol,
                last_traded_quantity=qty,
                volume_traded=state.volume,
                ohlc=Ohlc(open=state.open, high=state.high, low=state.low, close=state.close),
                last_trade_time_ns=ts,
                exchange_timestamp_ns=ts,
                oi=cn.oi,
            )
        last_close[token] = cn.close
