"""Market data for a backtest: tick files, one-minute candles, Parquet, the shipped sample.

`load_market_data(path)` reads a file or a directory of files and returns the ticks sorted
by event time, with the findings (data that is usable but worth knowing about, such as
missing minutes) listed. Data that would give a wrong number raises `DataError` naming
the file, line and fix: an unknown instrument, a malformed cell, unsorted or duplicated
timestamps, an empty range.

- a tick file: the replay CSV format (`actors/feed/replay.py`), or Parquet with the same
  columns; ticks must be in time order (order matters in a tick file, so it is not
  re-sorted);
- candles: Kite's one-minute historical format (`ops/backtest/candles.py`), CSV or
  Parquet, each candle expanded into four ticks;
- a directory: every `*.csv` and `*.parquet` in it, by name, merged by time;
- `sample`: the shipped sample (`resolve_data_path`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from importlib import resources
from pathlib import Path
from typing import Any

from actors.errors import TickCsvError
from actors.feed.replay import parse_tick_rows
from actors.instruments import Instrument, InstrumentBook
from ops.backtest.candles import IST, Candle, candle_ticks, is_candle_header, parse_candle_rows
from ops.backtest.errors import DataError
from schemas.events import MarketTick

__all__ = [
    "MarketData",
    "DataError",
    "SAMPLE_NAME",
    "load_market_data",
    "resolve_data_path",
    "format_ns",
]

SAMPLE_NAME = "sample"
SAMPLE_FILE = "sample_candles.csv"
SESSION_OPEN = time(9, 15)
SESSION_MINUTES = 375  # 09:15 to 15:30 IST
TICK_GAP_S = 300  # a silence this long inside a session is a finding
_NS = 1_000_000_000
_MAX_LISTED = 5


@dataclass(frozen=True)
class MarketData:
    """Ticks sorted by event time (`exchange_timestamp_ns`), and what is worth knowing."""

    ticks: Sequence[MarketTick]
    findings: list[str] = field(default_factory=list)
    sources: tuple[str, ...] = ()

    @property
    def first_ns(self) -> int:
        return _ts(self.ticks[0]) if self.ticks else 0

    @property
    def last_ns(self) -> int:
        return _ts(self.ticks[-1]) if self.ticks else 0

    @property
    def instruments(self) -> tuple[int, ...]:
        """The instrument tokens present, in order of first appearance."""
        return tuple(dict.fromkeys(t.instrument_token for t in self.ticks))


def resolve_data_path(name: str | Path) -> Path:
    """`sample` is the shipped sample; anything else a path that must exist."""
    if str(name) == SAMPLE_NAME:
        return Path(str(resources.files("actors.data").joinpath(SAMPLE_FILE)))
    path = Path(name).expanduser()
    if not path.exists():
        raise DataError(
            f"no such file or directory; give a tick or candle file, a directory of them, "
            f"or {SAMPLE_NAME!r} for the shipped sample",
            path=str(path),
        )
    return path


def load_market_data(
    path: str | Path,
    *,
    from_ns: int | None = None,
    to_ns: int | None = None,
    instruments: Iterable[int | str] | None = None,
    book: InstrumentBook | None = None,
) -> MarketData:
    """Read ticks from `path` in `[from_ns, to_ns]` (both inclusive), optionally only some
    instruments."""
    book = book or InstrumentBook.default()
    root = resolve_data_path(path)
    files = _files(root)
    wanted = _wanted(instruments, book) if instruments is not None else None
    findings: list[str] = []
    streams = [_read_file(f, book, findings) for f in files]
    ticks = streams[0] if len(streams) == 1 else _merge(streams)
    if not ticks:
        raise DataError("holds no rows; record or export some data into it", path=str(root))
    first, last = _ts(ticks[0]), _ts(ticks[-1])
    chosen = [
        t
        for t in ticks
        if (from_ns is None or _ts(t) >= from_ns)
        and (to_ns is None or _ts(t) <= to_ns)
        and (wanted is None or t.instrument_token in wanted)
    ]
    if not chosen:
        asked = f"[{format_ns(from_ns) if from_ns else '-'}, {format_ns(to_ns) if to_ns else '-'}]"
        names = f" for {', '.join(sorted(_book_name(book, t) for t in wanted))}" if wanted else ""
        raise DataError(
            f"no ticks in {asked}{names}; the data covers {format_ns(first)} to "
            f"{format_ns(last)} ({len(ticks)} ticks): widen --from/--to or check --instruments",
            path=str(root),
        )
    return MarketData(ticks=chosen, findings=findings, sources=tuple(str(f) for f in files))


def _book_name(book: InstrumentBook, token: int) -> str:
    inst = book.get(token)
    return inst.tradingsymbol if inst else str(token)


def format_ns(ts_ns: int) -> str:
    """An event time as IST, to the second."""
    return datetime.fromtimestamp(ts_ns / _NS, IST).strftime("%Y-%m-%d %H:%M:%S+05:30")


def _ts(tick: MarketTick) -> int:
    return tick.exchange_timestamp_ns or 0


def _wanted(refs: Iterable[int | str], book: InstrumentBook) -> set[int]:
    wanted = set()
    for ref in refs:
        inst = book.resolve(ref)
        if inst is None:
            known = ", ".join(i.tradingsymbol for i in book)
            raise DataError(f"instrument {ref!r} is not in the instrument master; known: {known}")
        wanted.add(inst.instrument_token)
    return wanted


def _files(root: Path) -> list[Path]:
    if not root.is_dir():
        return [root]
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in (".csv", ".parquet"))
    if not files:
        raise DataError("holds no .csv or .parquet files; point --data at the data files",
                        path=str(root))  # fmt: skip
    return files


def _parquet_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, Sequence[str]]]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError("reading Parquet needs pyarrow: pip install pyarrow",
                        path=str(path)) from None  # fmt: skip
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises its own hierarchy for a corrupt file
        raise DataError(f"is not a readable Parquet file ({exc}); re-export it",
                        path=str(path)) from None  # fmt: skip
    header = [str(n) for n in table.column_names]
    columns = [table.column(n).to_pylist() for n in header]

    def rows() -> Iterator[tuple[int, Sequence[str]]]:
        for i, row in enumerate(zip(*columns, strict=True)):
            yield i + 2, [_cell(v) for v in row]  # row 1 is the header, as in a CSV

    return header, rows()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _read_file(path: Path, book: InstrumentBook, findings: list[str]) -> list[MarketTick]:
    """A CSV's rows are numbered by line, a Parquet file's by row (the header is row 1)."""
    if path.suffix.lower() == ".parquet":
        return _read_rows(path, *_parquet_rows(path), book, findings)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader, [])]
            rows = ((reader.line_num, row) for row in reader)
            return _read_rows(path, header, rows, book, findings)
    except UnicodeDecodeError as exc:
        raise DataError(f"is not UTF-8 text ({exc.reason}); export the data as UTF-8 CSV",
                        path=str(path)) from None  # fmt: skip


def _read_rows(
    path: Path,
    header: list[str],
    rows: Iterator[tuple[int, Sequence[str]]],
    book: InstrumentBook,
    findings: list[str],
) -> list[MarketTick]:
    if is_candle_header(header):
        return _read_candles(path, header, rows, book, findings)
    return _read_ticks(path, header, rows, book, findings)


def _read_ticks(
    path: Path,
    header: list[str],
    rows: Iterator[tuple[int, Sequence[str]]],
    book: InstrumentBook,
    findings: list[str],
) -> list[MarketTick]:
    name = str(path)
    out: list[MarketTick] = []
    last: dict[int, int] = {}
    gaps: dict[int, int] = {}
    previous = None
    try:
        for line, ts, tick in parse_tick_rows(name, header, rows):
            token = tick.instrument_token
            if token not in book:
                raise DataError(f"instrument_token {token} is not in the instrument master; add "
                                "it to actors/data/instruments.csv or drop its rows",
                                path=name, line=line, column="instrument_token")  # fmt: skip
            if previous is not None and ts < previous:
                raise DataError(
                    f"ts {format_ns(ts)} is before the previous row's {format_ns(previous)}; "
                    "a tick file must be in time order: sort the file by ts",
                    path=name, line=line, column="ts",
                )  # fmt: skip
            seen = last.get(token)
            if seen == ts:
                raise DataError(
                    f"{_book_name(book, token)} has a tick at {format_ns(ts)} already; "
                    "drop the duplicate row", path=name, line=line, column="ts",
                )  # fmt: skip
            if seen is not None and ts - seen > TICK_GAP_S * _NS and _same_day(seen, ts):
                gaps[token] = gaps.get(token, 0) + 1
            previous, last[token] = ts, ts
            out.append(tick)  # the parser stamps exchange_timestamp_ns with ts
    except TickCsvError as exc:
        where = f"{exc.path}:{exc.line}" + (f": column {exc.column!r}" if exc.column else "")
        raise DataError(str(exc).removeprefix(where + ": "),
                        path=exc.path, line=exc.line, column=exc.column) from None  # fmt: skip
    for token, count in gaps.items():
        findings.append(f"{name}: {_book_name(book, token)} has {count} silence(s) of more than "
                        f"{TICK_GAP_S // 60} minutes inside a session")  # fmt: skip
    return out


def _same_day(a_ns: int, b_ns: int) -> bool:
    return (
        datetime.fromtimestamp(a_ns / _NS, IST).date()
        == datetime.fromtimestamp(b_ns / _NS, IST).date()
    )


def _read_candles(
    path: Path,
    header: list[str],
    rows: Iterator[tuple[int, Sequence[str]]],
    book: InstrumentBook,
    findings: list[str],
) -> list[MarketTick]:
    name = str(path)
    file_instrument = book.resolve(path.stem)
    by_token: dict[int, list[Candle]] = {}
    for candle in parse_candle_rows(name, header, rows, book, file_instrument):
        series = by_token.setdefault(candle.instrument.instrument_token, [])
        if series and candle.start_ns <= series[-1].start_ns:
            what = "repeats" if candle.start_ns == series[-1].start_ns else "is before"
            raise DataError(
                f"{candle.instrument.tradingsymbol} {format_ns(candle.start_ns)} {what} the "
                f"candle on line {series[-1].line}; "
                + ("drop the duplicate row" if what == "repeats" else "sort the file by date"),
                path=name, line=candle.line, column="date",
            )  # fmt: skip
        series.append(candle)
    for series in by_token.values():
        findings.extend(_candle_gaps(name, series))
    ticks = [t for series in by_token.values() for t in candle_ticks(series)]
    ticks.sort(key=lambda t: (_ts(t), t.instrument_token))
    return ticks


def _candle_gaps(name: str, series: list[Candle]) -> Iterator[str]:
    """A finding per instrument-day with minutes missing inside 09:15-15:30 IST."""
    inst: Instrument = series[0].instrument
    by_day: dict[date, set[int]] = {}
    outside = 0
    for candle in series:
        when = datetime.fromtimestamp(candle.start_ns / _NS, IST)
        minute = (when.hour * 60 + when.minute) - (SESSION_OPEN.hour * 60 + SESSION_OPEN.minute)
        if not 0 <= minute < SESSION_MINUTES:
            outside += 1
            continue
        by_day.setdefault(when.date(), set()).add(minute)
    for day, minutes in sorted(by_day.items()):
        missing = [m for m in range(SESSION_MINUTES) if m not in minutes]
        if missing:
            listed = ", ".join(_clock(m) for m in missing[:_MAX_LISTED])
            more = f" and {len(missing) - _MAX_LISTED} more" if len(missing) > _MAX_LISTED else ""
            yield (f"{name}: {inst.tradingsymbol} {day}: {len(missing)} of {SESSION_MINUTES} "
                   f"session minutes missing ({listed}{more})")  # fmt: skip
    if outside:
        yield (f"{name}: {inst.tradingsymbol}: {outside} candle(s) outside the 09:15-15:30 IST "
               "session (kept)")  # fmt: skip


def _clock(minute: int) -> str:
    total = SESSION_OPEN.hour * 60 + SESSION_OPEN.minute + minute
    return f"{total // 60:02d}:{total % 60:02d}"


def _merge(streams: list[list[MarketTick]]) -> list[MarketTick]:
    """Several files' ticks by time; ties keep file order (sorted by name)."""
    tagged = [(_ts(t), i, n, t) for i, s in enumerate(streams) for n, t in enumerate(s)]
    tagged.sort(key=lambda x: (x[0], x[1], x[2]))
    return [t for *_, t in tagged]
