"""Read views of the simulated account in Kite's shapes: positions, margins, instruments
and historical candles. Pure functions of the exchange and the instrument book."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from actors.feed.gbm import GbmFeed
from actors.instruments import InstrumentBook
from ops.sim.kite.exchange import IST, Exchange
from ops.sim.kite.rules import KiteError

__all__ = ["positions", "margins", "instruments_csv", "candles", "OPENING_CASH"]

OPENING_CASH = Decimal(1_000_000)
INTERVALS = {
    "minute": 1, "3minute": 3, "5minute": 5, "10minute": 10, "15minute": 15,
    "30minute": 30, "60minute": 60, "day": 375,
}  # fmt: skip
MAX_DAYS = {"minute": 60, "day": 2000}
CSV_HEADER = (
    "instrument_token", "exchange_token", "tradingsymbol", "name", "last_price", "expiry",
    "strike", "tick_size", "lot_size", "instrument_type", "segment", "exchange",
)  # fmt: skip


def positions(exchange: Exchange) -> dict[str, list[dict[str, Any]]]:
    """Net positions from today's trades (the simulator starts flat, so day == net)."""
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    for trade in exchange.trades:
        key = (trade["instrument_token"], trade["product"])
        row = rows.setdefault(
            key, {"bq": 0, "bv": Decimal(0), "sq": 0, "sv": Decimal(0), "trade": trade}
        )
        value = Decimal(str(trade["average_price"])) * trade["quantity"]
        if trade["transaction_type"] == "BUY":
            row["bq"] += trade["quantity"]
            row["bv"] += value
        else:
            row["sq"] += trade["quantity"]
            row["sv"] += value
    out = []
    for (token, product), r in rows.items():
        tick = exchange.last.get(token)
        last = tick.last_price if tick else Decimal(0)
        qty = r["bq"] - r["sq"]
        pnl = r["sv"] - r["bv"] + qty * last
        avg = (r["bv"] / r["bq"] if qty > 0 else r["sv"] / r["sq"]) if qty else Decimal(0)
        trade = r["trade"]
        out.append(
            {
                "tradingsymbol": trade["tradingsymbol"],
                "exchange": trade["exchange"],
                "instrument_token": token,
                "product": product,
                "quantity": qty,
                "overnight_quantity": 0,
                "multiplier": 1,
                "average_price": float(avg),
                "close_price": 0,
                "last_price": float(last),
                "value": float(r["sv"] - r["bv"]),
                "pnl": float(pnl),
                "m2m": float(pnl),
                "unrealised": float(pnl),
                "realised": 0,
                "buy_quantity": r["bq"],
                "buy_price": float(r["bv"] / r["bq"]) if r["bq"] else 0,
                "buy_value": float(r["bv"]),
                "sell_quantity": r["sq"],
                "sell_price": float(r["sv"] / r["sq"]) if r["sq"] else 0,
                "sell_value": float(r["sv"]),
                "day_buy_quantity": r["bq"],
                "day_sell_quantity": r["sq"],
                "day_buy_value": float(r["bv"]),
                "day_sell_value": float(r["sv"]),
            }
        )
    return {"net": out, "day": out}


def margins(exchange: Exchange) -> dict[str, Any]:
    debits = sum(
        (Decimal(str(t["average_price"])) * t["quantity"] for t in exchange.trades), Decimal(0)
    )
    equity = {
        "enabled": True,
        "net": float(OPENING_CASH - debits),
        "available": {
            "adhoc_margin": 0, "cash": float(OPENING_CASH), "opening_balance": float(OPENING_CASH),
            "live_balance": float(OPENING_CASH - debits), "collateral": 0, "intraday_payin": 0,
        },
        "utilised": {
            "debits": float(debits), "exposure": 0, "m2m_realised": 0, "m2m_unrealised": 0,
            "option_premium": 0, "payout": 0, "span": 0, "holding_sales": 0,
            "turnover": float(debits), "liquid_collateral": 0, "stock_collateral": 0,
            "delivery": 0,
        },
    }  # fmt: skip
    commodity = {"enabled": False, "net": 0, "available": {}, "utilised": {}}
    return {"equity": equity, "commodity": commodity}


def instruments_csv(book: InstrumentBook, exchange: Exchange) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for inst in book:
        tick = exchange.last.get(inst.instrument_token)
        last = tick.last_price if tick else Decimal(0)
        writer.writerow(
            (inst.instrument_token, inst.instrument_token >> 8, inst.tradingsymbol, inst.name,
             last, "", "0.0", inst.tick_size, inst.lot_size, "EQ", inst.exchange, inst.exchange)
        )  # fmt: skip
    return out.getvalue()


def candles(book: InstrumentBook, token: int, interval: str, start: str, end: str) -> list[Any]:
    """Deterministic candles from the walk: the same request always answers the same."""
    inst = book.get(token)
    if inst is None:
        raise KiteError("InputException", f"Invalid `instrument_token` {token}.", 400)
    minutes = INTERVALS.get(interval)
    if minutes is None:
        raise KiteError("InputException", f"Invalid `interval`; use one of {list(INTERVALS)}.", 400)
    try:
        t0, t1 = (datetime.fromisoformat(s).replace(tzinfo=IST) for s in (start, end))
    except ValueError:
        raise KiteError(
            "InputException", "Invalid `from` or `to`: use yyyy-mm-dd hh:mm:ss.", 400
        ) from None
    limit = MAX_DAYS.get(interval, 100)
    if t1 - t0 > timedelta(days=limit):
        raise KiteError("InputException", f"interval exceeds max limit: {limit} days", 400)
    seed = int.from_bytes(hashlib.sha256(f"{token}:{interval}:{t0}".encode()).digest()[:4])
    feed = GbmFeed([inst], seed, tick_interval_s=1.0, time_scale=minutes * 15.0)
    step = timedelta(days=1) if interval == "day" else timedelta(minutes=minutes)
    rows: list[list[Any]] = []
    at, volume = t0, 0
    while at <= t1 and len(rows) < 100_000:
        prices = []
        for _ in range(4):
            tick = feed.next_tick()
            prices.append(tick.last_price)
        candle_volume = tick.volume_traded - volume
        volume = tick.volume_traded
        rows.append(
            [at.strftime("%Y-%m-%dT%H:%M:%S%z"), float(prices[0]), float(max(prices)),
             float(min(prices)), float(prices[-1]), candle_volume]
        )  # fmt: skip
        at += step
    return rows
