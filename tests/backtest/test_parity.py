"""The backtester decides as the live paper pipeline does, on the same recorded ticks.

`alpha-panda up` replays the pipeline session's ticks (tests/e2e/data) through NATS; the
backtest engine drives the same desks over the same file in-process. Ids differ (the
live ones are ULIDs of envelopes, the backtest's come from a seed), so orders, fills,
charges and PnL are compared by content, strategy by strategy. The session's risk limits
keep the rules that depend on when fills come back (open orders, gross exposure, daily
loss) out of reach: the parity condition of docs/backtesting.md.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from actors.feed.replay import read_ticks_csv
from actors.instruments import InstrumentBook
from actors.paper.matching import PaperConfig
from actors.portfolio.book import apply_trade
from actors.risk.limits import RiskLimits
from actors.strategies.config import load_strategies_yaml
from ops.backtest.engine import BacktestSpec, run_backtest
from schemas.events import (
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderFailed,
    OrderFilled,
    OrderSubmitted,
    PnlSnapshot,
    RejectedSignal,
    TradingSignal,
    ValidatedSignal,
)
from tests.conftest import NatsServer
from tests.e2e.conftest import (
    DATA,
    connected,
    eventually,
    launch,
    read_stream,
    subject_counts,
)
from tests.e2e.test_paper_pipeline import PAPER, RISK_LIMITS, STARTING_CASH

HERE = Path(__file__).parent / "data"
#: (ticks, strategies, risk limits, paper fill model, replay speed) of each session
SESSIONS = {
    # the hand-computed pipeline session (tests/e2e/test_paper_pipeline.py), 20 ms a tick
    "pipeline": (DATA / "pipeline_ticks.csv", DATA / "pipeline_strategies.yaml", RISK_LIMITS,
                 PAPER, 1),
    # 300 ticks of two instruments half a second of market time apart, replayed 20 times
    # faster (25 ms a tick): market and resting limit orders, limit expiries, every kind of
    # strategy, MAX_POSITION refusals (projected positions do not depend on fill timing)
    "generated": (HERE / "parity_ticks.csv", HERE / "parity_strategies.yaml",
                  {"max_position_qty": 15, "max_open_orders": 1000, "burst": 100,
                   "rate_limit_per_s": "100", "max_gross_exposure": "1000000000",
                   "daily_loss_limit": "1000000000"}, {"slippage_bps": "2"}, 20),
}  # fmt: skip
SUBJECTS = {
    TradingSignal: "paper.signals.raw", ValidatedSignal: "paper.signals.validated",
    RejectedSignal: "paper.signals.rejected", OrderSubmitted: "paper.orders.submitted",
    OrderAccepted: "paper.orders.accepted", OrderFilled: "paper.orders.filled",
    OrderFailed: "paper.orders.failed", OrderCancelled: "paper.orders.cancelled",
}  # fmt: skip


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


def by_strategy(events: list[Event]) -> dict[str, list[list[tuple[Any, ...]]]]:
    """Each strategy's orders in signal order, each as its verdict then its own events.

    Within one order the events are causal (submitted before filled); across orders the
    stream interleaves risk's verdicts with execution's events as fast as each runs, which
    depends on the machine's load, so that interleaving is not compared."""
    history: dict[str, list[tuple[Any, ...]]] = {}
    out: dict[str, list[list[tuple[Any, ...]]]] = defaultdict(list)
    for event in events:
        fact = facts(event)
        if fact is None:
            continue
        if isinstance(event, ValidatedSignal | RejectedSignal):
            order = [fact]
            out[event.signal.strategy_id].append(order)
            if isinstance(event, ValidatedSignal):
                history[event.client_order_id] = order
        else:
            history[getattr(event, "client_order_id", "")].append(fact)
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


def backtest(session: str) -> tuple[list[Event], PnlSnapshot]:
    ticks, strategies, limits, paper, _ = SESSIONS[session]
    book = InstrumentBook.default()
    spec = BacktestSpec(
        strategies=tuple(load_strategies_yaml(strategies, book)), book=book,
        risk_limits=msgspec.convert(limits, RiskLimits, strict=False),
        paper=msgspec.convert(paper, PaperConfig, strict=False), capital=STARTING_CASH,
    )  # fmt: skip
    run = run_backtest(list(read_ticks_csv(ticks)), spec)
    return run.events, run.portfolio.snapshot(0, 0)


async def live(
    workdir: Path, session: str, expected: PnlSnapshot, counts: Counter[str]
) -> tuple[list[Event], PnlSnapshot]:
    """Replay the session through `alpha-panda up` until the order events the backtest
    produced are stored and a PnL snapshot holds its final marks."""
    ticks, strategies, limits, paper, speed = SESSIONS[session]
    server = NatsServer()
    server.start()
    app = launch(
        workdir, nats_url=server.url, strategies=strategies, feed=f"replay:{ticks}",
        risk_limits=limits, paper=paper,
        extra={"ALPHA_PANDA_REPLAY_SPEED": str(speed),
               "ALPHA_PANDA_STARTING_CASH": str(STARTING_CASH)},
    )  # fmt: skip
    try:
        async with connected(server.url) as bus:

            async def settled() -> bool:
                stored = await subject_counts(bus, "PAPER")
                return all(stored.get(s, 0) >= n for s, n in counts.items())

            await eventually(settled, f"the order events of the backtest {dict(counts)}",
                             app=app, timeout_s=60)  # fmt: skip

            async def marked() -> bool:  # a snapshot taken after the last tick's marks
                snaps = [e.data for s, e in await read_stream(bus, "PAPER", "paper.pnl.>")]
                last = snaps[-1] if snaps else None
                return isinstance(last, PnlSnapshot) and last.positions == expected.positions

            await eventually(marked, "a PnL snapshot at the backtest's final marks", app=app)
            paper_events = await read_stream(bus, "PAPER")
            await app.stop()
    finally:
        app.kill()
        server.cleanup()
    events = [e.data for s, e in paper_events if not s.endswith(".pnl.snapshots")]
    final = [e.data for s, e in paper_events if s.endswith(".pnl.snapshots")][-1]
    assert isinstance(final, PnlSnapshot)
    return events, final


@pytest.mark.parametrize("session", sorted(SESSIONS))
async def test_the_backtest_gives_the_live_pipelines_orders_fills_charges_and_pnl(
    tmp_path: Path, session: str
) -> None:
    bt_events, bt_final = backtest(session)
    counts = Counter(SUBJECTS[type(e)] for e in bt_events)
    live_events, live_final = await live(tmp_path, session, bt_final, counts)

    assert Counter(SUBJECTS[type(e)] for e in live_events if type(e) in SUBJECTS) == counts
    assert by_strategy(bt_events) == by_strategy(live_events)
    live_fills = [e for e in live_events if isinstance(e, OrderFilled)]
    bt_fills = [e for e in bt_events if isinstance(e, OrderFilled)]
    assert realized(bt_fills) == realized(live_fills)
    account = ("realized_pnl", "unrealized_pnl", "charges", "cash", "equity", "fills")
    assert {k: getattr(bt_final, k) for k in account} == {
        k: getattr(live_final, k) for k in account
    }
    assert bt_final.positions == live_final.positions
