"""The instrument master: tradable NSE equities with their Kite tokens, tick and lot sizes.

The shipped list (`actors/data/instruments.csv`) holds liquid NSE cash equities with their
real Kite instrument tokens (`exchange_token << 8 | segment`, NSE = 1), so the same token
means the same stock in the mock feed, the Kite ticker and Kite's order API. `base_price`
and `annual_volatility` only seed the mock feed; they are not market data.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from importlib import resources
from pathlib import Path

from actors.errors import InstrumentError

__all__ = [
    "Instrument",
    "InstrumentBook",
    "CSV_COLUMNS",
    "round_to_tick",
    "on_tick_grid",
]

CSV_COLUMNS = (
    "instrument_token",
    "tradingsymbol",
    "exchange",
    "tick_size",
    "lot_size",
    "base_price",
    "annual_volatility",
    "name",
)


def round_to_tick(price: Decimal, tick: Decimal) -> Decimal:
    """Round `price` half-up to the nearest multiple of `tick` (e.g. 100.025 → 100.05)."""
    if tick <= 0:
        raise ValueError(f"tick size must be positive, got {tick}")
    return (price / tick).quantize(Decimal(1), rounding=ROUND_HALF_UP) * tick


def on_tick_grid(price: Decimal, tick: Decimal) -> bool:
    """Whether `price` is an exact multiple of `tick` (False for NaN and infinities)."""
    if not price.is_finite() or tick <= 0:
        return False
    return price % tick == 0


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable instrument as Kite's instrument master describes it."""

    instrument_token: int
    tradingsymbol: str
    exchange: str
    tick_size: Decimal
    lot_size: int
    base_price: Decimal
    annual_volatility: float
    name: str = ""

    def __post_init__(self) -> None:
        problems = []
        if self.instrument_token <= 0:
            problems.append(f"instrument_token must be positive, got {self.instrument_token}")
        if not self.tradingsymbol:
            problems.append("tradingsymbol is empty")
        if not self.tick_size.is_finite() or self.tick_size <= 0:
            problems.append(f"tick_size must be a positive decimal, got {self.tick_size}")
        if self.lot_size < 1:
            problems.append(f"lot_size must be at least 1, got {self.lot_size}")
        if not self.base_price.is_finite() or self.base_price <= 0:
            problems.append(f"base_price must be positive, got {self.base_price}")
        elif not problems and not on_tick_grid(self.base_price, self.tick_size):
            problems.append(
                f"base_price {self.base_price} is not a multiple of tick_size {self.tick_size}"
            )
        if not math.isfinite(self.annual_volatility) or self.annual_volatility < 0:
            problems.append(
                f"annual_volatility must be a finite fraction >= 0 (0.25 = 25%), "
                f"got {self.annual_volatility}"
            )
        if problems:
            raise InstrumentError(f"{self.tradingsymbol or '?'}: " + "; ".join(problems))

    @property
    def exchange_token(self) -> int:
        """The exchange's own code for the instrument (Kite packs it in the high bits)."""
        return self.instrument_token >> 8


class InstrumentBook:
    """An immutable lookup of instruments by Kite token and by trading symbol."""

    __slots__ = ("_by_symbol", "_by_token")

    def __init__(self, instruments: Iterable[Instrument]) -> None:
        self._by_token: dict[int, Instrument] = {}
        self._by_symbol: dict[str, Instrument] = {}
        for inst in instruments:
            if inst.instrument_token in self._by_token:
                raise InstrumentError(
                    f"duplicate instrument_token {inst.instrument_token} "
                    f"({self._by_token[inst.instrument_token].tradingsymbol} and "
                    f"{inst.tradingsymbol}); each token may appear once"
                )
            key = inst.tradingsymbol.upper()
            if key in self._by_symbol:
                raise InstrumentError(
                    f"duplicate tradingsymbol {inst.tradingsymbol!r}; each symbol may appear once"
                )
            self._by_token[inst.instrument_token] = inst
            self._by_symbol[key] = inst

    @classmethod
    def default(cls) -> InstrumentBook:
        """The instruments shipped in `actors/data/instruments.csv` (loaded once)."""
        return _default_book()

    @classmethod
    def from_csv(cls, path: str | Path) -> InstrumentBook:
        """Read a CSV with the columns of `CSV_COLUMNS` (header first)."""
        path = Path(path)
        return cls(_parse_csv(path.read_text(encoding="utf-8"), str(path)))

    def get(self, token: int) -> Instrument | None:
        return self._by_token.get(token)

    def by_symbol(self, symbol: str) -> Instrument | None:
        """Find by trading symbol, case-insensitively; `NSE:INFY` also works."""
        exchange, _, sym = symbol.rpartition(":")
        inst = self._by_symbol.get(sym.strip().upper())
        if inst is not None and exchange and exchange.upper() != inst.exchange:
            return None
        return inst

    def resolve(self, ref: int | str) -> Instrument | None:
        """An instrument named by token (int or digits) or by symbol."""
        if isinstance(ref, int):
            return self.get(ref)
        text = ref.strip()
        return self.get(int(text)) if text.isdigit() else self.by_symbol(text)

    @property
    def tokens(self) -> tuple[int, ...]:
        return tuple(self._by_token)

    def __contains__(self, token: object) -> bool:
        return token in self._by_token

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._by_token.values())

    def __len__(self) -> int:
        return len(self._by_token)

    def __repr__(self) -> str:
        return f"InstrumentBook({len(self)} instruments)"


@cache
def _default_book() -> InstrumentBook:
    text = resources.files("actors.data").joinpath("instruments.csv").read_text(encoding="utf-8")
    return InstrumentBook(_parse_csv(text, "actors/data/instruments.csv"))


def _parse_csv(text: str, source: str) -> list[Instrument]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS[:-1] if c not in (reader.fieldnames or ())]
    if missing:
        raise InstrumentError(
            f"{source}:1: missing column(s) {', '.join(missing)}; "
            f"the header must be {','.join(CSV_COLUMNS)}"
        )
    out = []
    for row in reader:
        line = reader.line_num
        try:
            out.append(_instrument_of_row(row))
        except _BadField as exc:
            raise InstrumentError(
                f"{source}:{line}: column {exc.column!r}: {exc.value!r} is not {exc.expected}"
            ) from None
        except InstrumentError as exc:
            raise InstrumentError(f"{source}:{line}: {exc}") from None
    return out


class _BadField(Exception):
    def __init__(self, column: str, value: str, expected: str) -> None:
        self.column, self.value, self.expected = column, value, expected


def _instrument_of_row(row: dict[str, str]) -> Instrument:
    def text(col: str) -> str:
        return (row.get(col) or "").strip()

    def integer(col: str) -> int:
        try:
            return int(text(col))
        except ValueError:
            raise _BadField(col, text(col), "an integer") from None

    def decimal(col: str) -> Decimal:
        try:
            value = Decimal(text(col))
        except InvalidOperation:
            raise _BadField(col, text(col), "a decimal number") from None
        if not value.is_finite():
            raise _BadField(col, text(col), "a finite decimal number")
        return value

    def real(col: str) -> float:
        try:
            return float(text(col))
        except ValueError:
            raise _BadField(col, text(col), "a number") from None

    return Instrument(
        instrument_token=integer("instrument_token"),
        tradingsymbol=text("tradingsymbol"),
        exchange=text("exchange").upper(),
        tick_size=decimal("tick_size"),
        lot_size=integer("lot_size"),
        base_price=decimal("base_price"),
        annual_volatility=real("annual_volatility"),
        name=text("name"),
    )
