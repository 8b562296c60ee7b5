"""The shipped sample: one-minute candles of seven NSE stocks over five trading days.

Generated, not recorded: the mock market (`actors/feed/gbm.py`, seed `SAMPLE_SEED`) walks
each instrument in ten-second steps, and each session minute of 09:15-15:30 IST becomes a
candle of its six steps (volume: the quantities traded in them). The same seed gives the
same bytes, so `alpha-panda data sample --out FILE` reproduces `actors/data/sample_candles.csv`.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from actors.feed.gbm import GbmFeed
from actors.instruments import InstrumentBook
from ops.backtest.candles import IST

__all__ = ["SAMPLE_SEED", "SAMPLE_SYMBOLS", "SAMPLE_DAYS", "write_sample_candles"]

SAMPLE_SEED = 14
SAMPLE_SYMBOLS = ("RELIANCE", "HDFCBANK", "ICICIBANK", "INFY", "TCS", "ITC", "MARUTI")
SAMPLE_DAYS = tuple(date(2024, 1, d) for d in (1, 2, 3, 4, 5))  # Monday to Friday
STEPS_PER_MINUTE = 6
SESSION_MINUTES = 375
HEADER = ("date", "symbol", "open", "high", "low", "close", "volume")


def write_sample_candles(
    path: str | Path,
    *,
    seed: int = SAMPLE_SEED,
    symbols: tuple[str, ...] = SAMPLE_SYMBOLS,
    days: tuple[date, ...] = SAMPLE_DAYS,
) -> int:
    """Write the sample's candles to `path`; returns the number of candles."""
    book = InstrumentBook.default()
    instruments = []
    for symbol in symbols:
        inst = book.by_symbol(symbol)
        if inst is None:
            raise ValueError(f"{symbol} is not in the instrument master")
        instruments.append(inst)
    step_s = 60 / STEPS_PER_MINUTE
    feed = GbmFeed(instruments, seed, tick_interval_s=step_s / len(instruments), time_scale=1.0)
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        for day in days:
            open_at = datetime.combine(day, time(9, 15), IST)
            for minute in range(SESSION_MINUTES):
                steps: dict[int, list[tuple[Decimal, int]]] = {}
                for _ in range(STEPS_PER_MINUTE * len(instruments)):
                    tick = feed.next_tick(0)
                    steps.setdefault(tick.instrument_token, []).append(
                        (tick.last_price, tick.last_traded_quantity)
                    )
                stamp = (open_at + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%S%z")
                for inst in instruments:
                    prices = [p for p, _ in steps[inst.instrument_token]]
                    volume = sum(q for _, q in steps[inst.instrument_token])
                    writer.writerow([stamp, inst.tradingsymbol, prices[0], max(prices),
                                     min(prices), prices[-1], volume])  # fmt: skip
                    count += 1
    return count
