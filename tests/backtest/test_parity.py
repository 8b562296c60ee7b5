"""The backtester decides as the live paper pipeline does, on the same recorded ticks.

`alpha-panda up` replays the pipeline session's ticks (tests/e2e/data) through NATS; the
backtest engine drives the same desks over the same file in-process. Ids differ (the
live ones are ULIDs of envelopes, the backtest's come from a seed), so orders, fills,
charges and PnL are compared by content, strategy by strategy. The session's risk limits
keep the rules that depend on when fills come back (open orders, gross exposure, daily
loss) out of reach: the parity condition of docs/backtesting.md.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from actors.feed.replay import read_ticks_csv
from actors.instruments import InstrumentBook
from actors.paper.matching import PaperConfig
from actors.portfolio.book import apply_trade
from actors.risk.limits import RiskLimits
from actors.strategies.config import load_strategies_yaml
from ops.backtest.engine import BacktestSpec, run_backtest
from schemas.events import (
    Event,
    OrderCancelled,
    OrderFailed,
    OrderFilled,
    OrderSubmitted,
    PnlSnapshot,
    RejectedSignal,
    ValidatedSignal,
)
from tests.conftest import NatsServer
from tests.e2e.conftest import (
    DATA,
    connected,
    eventually,
    last_seq,
    launch,
    read_stream,
    subject_counts,
)
from tests.e2e.test_paper_pipeline import EXPECTED_COUNTS, PAPER, RISK_LIMITS, STARTING_CASH

TICKS = DATA / "pipeline_ticks.csv"
STRATEGIES = DATA / "pipeline_strategies.yaml"


def facts(event: Event) -> tuple[Any, ...] | None:
    """What an order event says, without ids or publish times."""
    if isinstance(event, RejectedSignal):
        return ("rejected", event.signal.instrument_token, event.signal.side, event.reason)
    if isinstance(event, ValidatedSignal):
        return ("validated", event.signal.instrument_token, event.signal.side)
    if isinstance(event, OrderSubmitted):
        return ("submitted", event.instrument_token, event.side, event.quantity,
                event.order_type, event.limit_price)  # fmt: skip
    if isinstance(event, OrderFilled):
        return ("filled", event.instrument_token, event.side, event.quantity, event.price,
                event.charges, event.cumulative_quantity, event.final)  # fmt: skip
    if isinstance(event, OrderFailed | OrderCancelled):
        return (type(event).__name__, event.instrument_token)
    return None


def by_strategy(events: list[Event]) -> dict[str, list[tuple[Any, ...]]]:
    """Each strategy's order events in order (an order's strategy: its signal's)."""
    strategy_of: dict[str, str] = {}
    out: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for event in events:
        if isinstance(event, ValidatedSignal | RejectedSignal):
            sid = event.signal.strategy_id
            strategy_of[event.signal_id] = sid
        else:
            sid = strategy_of.get(getattr(event, "client_order_id", ""), "")
        fact = facts(event)
        if fact is not None:
            out[sid].append(fact)
    return dict(out)


def realized(fills: list[OrderFilled]) -> dict[str, tuple[Decimal, Decimal]]:
    """Per strategy: realized PnL (average cost, per instrument) and charges."""
    books: dict[tuple[str, int], tuple[int, Decimal]] = {}
    result: dict[str, tuple[Decimal, Decimal]] = {}
    for f in fills:
        qty, cost = books.get((f.strategy_id, f.instrument_token), (0, Decimal(0)))
        qty, cost, pnl = apply_trade(qty, cost, f.side.sign * f.quantity, f.price)
        books[(f.strategy_id, f.instrument_token)] = (qty, cost)
        r, c = result.get(f.strategy_id, (Decimal(0), Decimal(0)))
        result[f.strategy_id] = (r + pnl, c + f.charges.total)
    return result


def backtest() -> tuple[list[Event], PnlSnapshot]:
    book = InstrumentBook.default()
    spec = BacktestSpec(
        strategies=tuple(load_strategies_yaml(STRATEGIES, book)), book=book,
        risk_limits=msgspec.convert(RISK_LIMITS, RiskLimits, strict=False),
        paper=msgspec.convert(PAPER, PaperConfig, strict=False), capital=STARTING_CASH,
    )  # fmt: skip
    run = run_backtest(list(read_ticks_csv(TICKS)), spec)
    return run.events, run.portfolio.snapshot(0, 0)


async def live(workdir: Path) -> tuple[list[Event], PnlSnapshot]:
    server = NatsServer()
    server.start()
    app = launch(
        workdir, nats_url=server.url, strategies=STRATEGIES, feed=f"replay:{TICKS}",
        risk_limits=RISK_LIMITS, paper=PAPER,
        extra={"ALPHA_PANDA_REPLAY_SPEED": "1", "ALPHA_PANDA_STARTING_CASH": str(STARTING_CASH)},
    )  # fmt: skip
    try:
        async with connected(server.url) as bus:

            async def settled() -> bool:
                counts = await subject_counts(bus, "PAPER")
                done = all(counts.get(s, 0) >= n for s, n in EXPECTED_COUNTS.items())
                return done and await last_seq(bus, "MARKET") >= 21

            await eventually(settled, "the replayed session's order events", app=app)

            async def marked() -> bool:  # a snapshot taken after the last tick's marks
                snaps = [e.data for s, e in await read_stream(bus, "PAPER", "paper.pnl.>")]
                last = snaps[-1] if snaps else None
                fills = (await subject_counts(bus, "PAPER")).get("paper.orders.filled", 0)
                return isinstance(last, PnlSnapshot) and last.fills == fills and all(
                    p.last_price in (Decimal("996.00"), Decimal("1505.00"))
                    for p in last.positions if p.quantity
                )  # fmt: skip

            await eventually(marked, "a PnL snapshot at the closing marks", app=app)
            paper = await read_stream(bus, "PAPER")
            await app.stop()
    finally:
        app.kill()
        server.cleanup()
    events = [e.data for s, e in paper if not s.endswith((".signals.raw", ".pnl.snapshots"))]
    snapshots = [e.data for s, e in paper if s.endswith(".pnl.snapshots")]
    final = snapshots[-1]
    assert isinstance(final, PnlSnapshot)
    return events, final


async def test_the_backtest_gives_the_live_pipelines_orders_fills_charges_and_pnl(
    tmp_path: Path,
) -> None:
    live_events, live_final = await live(tmp_path)
    bt_events, bt_final = backtest()
    bt_events = [e for e in bt_events if facts(e) is not None]

    assert by_strategy(bt_events) == by_strategy(live_events)
    live_fills = [e for e in live_events if isinstance(e, OrderFilled)]
    bt_fills = [e for e in bt_events if isinstance(e, OrderFilled)]
    assert len(bt_fills) == EXPECTED_COUNTS["paper.orders.filled"]
    assert realized(bt_fills) == realized(live_fills)
    account = ("realized_pnl", "unrealized_pnl", "charges", "cash", "equity", "fills")
    assert {k: getattr(bt_final, k) for k in account} == {
        k: getattr(live_final, k) for k in account
    }
    assert bt_final.positions == live_final.positions
