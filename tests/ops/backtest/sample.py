"""Backtest results to report on: a small hand-made run and a long seeded random one."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from ops.backtest.ist import IST
from ops.backtest.results import TOTAL, BacktestResult, EquityPoint, FillRecord
from schemas.enums import Side

D = Decimal


def ist_ns(day: date, hh: int, mm: int = 0) -> int:
    """ns since the epoch of a wall-clock time in IST."""
    return int(datetime(day.year, day.month, day.day, hh, mm, tzinfo=IST).timestamp()) * 10**9


def fill(ts_ns: int, strategy: str, token: int, symbol: str, side: Side, qty: int, price: str,
         charges: str, pnl: str, n: int) -> FillRecord:  # fmt: skip
    return FillRecord(
        ts_ns=ts_ns, strategy_id=strategy, instrument_token=token, symbol=symbol, side=side,
        quantity=qty, price=D(price), charges=D(charges), realized_pnl=D(pnl),
        order_id=f"ord-{n}", fill_id=f"fill-{n}",
    )  # fmt: skip


def trading_days(start: date, n: int) -> list[date]:
    """n weekdays from `start` on."""
    days: list[date] = []
    d = start
    while len(days) < n:
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return days


def random_result(n_days: int = 300, seed: int = 7, strategies: int = 2,
                  fills_per_day: int = 2, risk_free_rate: float = 0.0) -> BacktestResult:  # fmt: skip
    """A seeded random walk per strategy, two intraday points a day on the straight line
    from the previous close to the close (so no intraday point is a new extreme), and
    round-trip fills of one share lot each."""
    rng = random.Random(seed)
    days = trading_days(date(2025, 1, 6), n_days)
    names = [f"strat-{chr(ord('a') + i)}" for i in range(strategies)]
    start_ns, end_ns = ist_ns(days[0], 9, 15), ist_ns(days[-1], 15, 30)
    per = D(1_000_000) / strategies
    level = dict.fromkeys(names, per)
    curves: dict[str, list[EquityPoint]] = {s: [EquityPoint(ts_ns=start_ns, equity=per)]
                                            for s in names}  # fmt: skip
    fills: list[FillRecord] = []
    for day in days:
        for s in names:
            prev = level[s]
            close = (prev * D(str(1 + rng.gauss(0.0004, 0.011)))).quantize(D("0.01"))
            for hh, frac in ((11, D("0.3")), (13, D("0.7"))):
                mid = (prev + (close - prev) * frac).quantize(D("0.01"))
                curves[s].append(EquityPoint(ts_ns=ist_ns(day, hh), equity=mid))
            curves[s].append(EquityPoint(ts_ns=ist_ns(day, 15, 30), equity=close))
            level[s] = close
            for k in range(fills_per_day // 2):
                price = D(str(round(rng.uniform(900, 1100), 1)))
                exit_price = price + D(str(round(rng.gauss(0, 8), 1)))
                qty = rng.randint(1, 50)
                n = len(fills)
                fills.append(fill(ist_ns(day, 10, 5 * k), s, 100 + ord(s[-1]), "SYM" + s[-1].upper(),
                                  Side.BUY, qty, str(price), "3.10", "0", n))  # fmt: skip
                fills.append(fill(ist_ns(day, 14, 5 * k), s, 100 + ord(s[-1]), "SYM" + s[-1].upper(),
                                  Side.SELL, qty, str(exit_price), "3.40",
                                  str((exit_price - price) * qty), n + 1))  # fmt: skip
    total = [EquityPoint(ts_ns=p.ts_ns, equity=sum((curves[s][i].equity for s in names), D(0)))
             for i, p in enumerate(curves[names[0]])]  # fmt: skip
    return BacktestResult(
        capital=D(1_000_000), start_ns=start_ns, end_ns=end_ns, risk_free_rate=risk_free_rate,
        equity={TOTAL: total, **curves}, fills=fills,
        findings=["2025-03-14: 3 ticks out of order were dropped (RELIANCE)",
                  "2025-06-02: no ticks between 11:02 and 11:19 for INFY"],
        config={"data": "ticks-2025.csv", "strategies": ", ".join(names), "slippage_bps": "2"},
    )  # fmt: skip
