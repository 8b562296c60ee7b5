"""The backtest engine: the desks `alpha-panda up` runs, driven in-process on recorded ticks.

No NATS, no sleeping, no wall clock: the clock is the event time of the tick being
processed (`SimClock`), ids come from a seed (`SeededIds`), and the MARKET sequence a
signal names is the tick's index in the data (1-based). One tick is handled as the live
pipeline handles it when every order's outcome is back before the next tick arrives:

1. the execution desk sees the tick if an order rests on its instrument (limit fills and
   expiries), and those events reach risk and the portfolio;
2. the portfolio marks held positions to it (a position a fill opens is marked to the
   tick it was priced on, the live portfolio's last tick delivered, never to its fill price);
3. the strategy desk computes the tick's signals; risk judges them all in order;
4. the execution desk executes the validated ones on the paper venue, priced on this tick;
   the fills then reach risk and the portfolio.

docs/backtesting.md states when a live run decides the same (the parity condition).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from actors.errors import InvalidTick
from actors.execution.desk import ExecutionDesk
from actors.feed.validation import plain_tick_ok, validate_tick
from actors.instruments import InstrumentBook
from actors.named_tick import NamedTick
from actors.paper.matching import PaperBroker, PaperConfig
from actors.paper.venue import PaperVenue
from actors.portfolio.book import Portfolio
from actors.portfolio.desk import PortfolioDesk
from actors.risk.desk import RiskDesk
from actors.risk.limits import RiskLimits
from actors.strategies.config import StrategyConfig, allowed_instruments, build_strategies
from actors.strategies.desk import StrategyDesk
from actors.strategies.router import RouteResult
from ops.backtest.results import TOTAL, BacktestResult, EquityPoint, FillRecord
from schemas.clock import SeededIds, SimClock
from schemas.events import (
    Event,
    MarketTick,
    OrderFailed,
    OrderFilled,
    RejectedSignal,
    ValidatedSignal,
)
from schemas.names import Broker

__all__ = ["BacktestSpec", "BacktestRun", "run_backtest", "EQUITY_SAMPLE_NS"]

#: equity is sampled at the first tick of every minute of event time (after handling it)
#: and at the last tick of the run: a point a minute, as a bar-by-bar backtester keeps it.
#: Not at every fill: valuing the book at each fill was a tenth of a run; a fill's effect
#: shows in the next minute's point (the drawdown is over these points)
EQUITY_SAMPLE_NS = 60_000_000_000
BROKER: Final[Broker] = "paper"
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class BacktestSpec:
    """How a run is set up: the same configuration objects `alpha-panda up` reads."""

    strategies: tuple[StrategyConfig, ...]
    book: InstrumentBook
    risk_limits: RiskLimits
    paper: PaperConfig
    capital: Decimal
    seed: int = 0
    limit_ttl_s: float = 60.0
    risk_free_rate: float = 0.0
    config: dict[str, str] = field(default_factory=dict)
    findings: tuple[str, ...] = ()  # what the data loader found, listed first in the report


@dataclass(slots=True)
class BacktestRun:
    """What a run produced: the report's input, and every event in the order it happened."""

    result: BacktestResult
    events: list[Event]
    ticks: int
    portfolio: Portfolio


class _Engine:
    def __init__(self, spec: BacktestSpec) -> None:
        configs = [c for c in spec.strategies if c.enabled]
        # a backtest trades every strategy it is given on the paper venue
        on_paper = [_on_paper(c) for c in configs]
        self.spec = spec
        self.clock = SimClock()
        self.ids = SeededIds(spec.seed, self.clock)
        self.strategies = StrategyDesk(build_strategies(on_paper, BROKER))
        self.risk = RiskDesk(spec.risk_limits, allowed_instruments(on_paper, BROKER))
        self.execution = ExecutionDesk(
            PaperVenue(PaperBroker(spec.paper)), limit_ttl_s=spec.limit_ttl_s
        )
        self.portfolio = PortfolioDesk(spec.capital, self.clock)
        ids = sorted(c.id for c in on_paper)
        self.share = spec.capital / len(ids) if ids else spec.capital
        self.equity: dict[str, list[EquityPoint]] = {TOTAL: [], **{sid: [] for sid in ids}}
        self.total_series = self.equity[TOTAL]
        self.strategy_series = [(sid, self.equity[sid]) for sid in ids if sid != TOTAL]
        self.fills: list[FillRecord] = []
        self.events: list[Event] = []
        self.resting: set[int] = set()
        # the portfolio's (equity, PnL by strategy) at the last sample, after that many fills
        self.net: tuple[Decimal, dict[str, Decimal]] = (spec.capital, {})
        self.net_fills = -1
        self.errors: Counter[str] = Counter()
        self.first_error: dict[str, str] = {}
        self.invalid: Counter[str] = Counter()
        self.first_invalid: dict[str, str] = {}
        self.symbols = {i.instrument_token: i.tradingsymbol for i in spec.book}
        # the tick being handled and its time, set when it may cause a fill
        self.tick: tuple[MarketTick, int] | None = None

    def run(self, ticks: Iterable[tuple[int, MarketTick]]) -> BacktestRun:
        seq = 0
        start = end = now = 0
        # the minute of event time being sampled, [from, to): none yet
        minute_from, minute_to = 1, 0
        book = self.spec.book
        traded = self.strategies.tokens | self.risk.tokens
        instruments = {t: i for t in traded if (i := book.get(t)) is not None}
        route = self.strategies.router.on_tick
        clock = self.clock
        # `PortfolioDesk.on_tick` is this call on its book (which a backtest never replaces)
        mark = self.portfolio.book.mark
        portfolio = self.portfolio
        sample_ns = EQUITY_SAMPLE_NS
        for ts, tick in ticks:
            seq += 1
            token = tick.instrument_token
            trades = token in traded
            if trades:
                # the plain valid tick passes a cheap check; anything else gets the full
                # `validate_tick` (the same one the live runner calls) and its verdict
                inst = instruments.get(token)
                if inst is None or not plain_tick_ok(tick, inst):
                    try:
                        validate_tick(tick, book)
                    except InvalidTick as exc:
                        self._invalid(seq, exc)
                        continue
            # the simulated clock's time (it never runs backwards), set on the clock only
            # before a desk call that may read it (ids, fills), not at every tick
            if ts > now:
                now = ts
            if not start:
                start = ts
                self._sample(ts)
            end = ts
            if token in self.resting:
                clock.set(now)
                self.tick = (tick, ts)
                self._route(self.execution.on_tick(tick, ts))
            if token in portfolio.held:
                mark(token, tick.last_price, ts)
            if trades:
                routed = route(tick, ts)
                if routed.signals or routed.errors:
                    clock.set(now)
                    self.tick = (tick, ts)
                    self._signals(seq, ts, tick, routed)
            if not minute_from <= ts < minute_to:
                minute_from = ts // sample_ns * sample_ns
                minute_to = minute_from + sample_ns
                self._sample(ts)
        clock.set(now)
        if start:
            self._sample(end)
        result = BacktestResult(
            capital=self.spec.capital, start_ns=start, end_ns=end, equity=self.equity,
            fills=self.fills, findings=self._findings(seq), config=self.spec.config,
            risk_free_rate=self.spec.risk_free_rate,
        )  # fmt: skip
        return BacktestRun(result, self.events, seq, self.portfolio.book)

    def _signals(self, seq: int, ts: int, tick: MarketTick, routed: RouteResult) -> None:
        """A tick's signals (the router's `routed`, named here as the strategy desk names
        them), judged by risk together, then executed."""
        tick_id = f"tick-{seq}"
        routed = self.strategies.name(routed, tick, seq, tick_id)
        for strategy_id, exc in routed.errors:
            self._strategy_error(strategy_id, seq, exc)
        if not routed.signals:
            return
        named = NamedTick(seq=seq, tick_id=tick_id, ts=ts, stored_ms=ts // 1_000_000, tick=tick)
        verdicts: list[ValidatedSignal | RejectedSignal] = []
        for signal in routed.signals:
            self.events.append(signal)
            verdict = self.risk.on_signal(self.ids.next_id(), signal, ts, named)
            self.events.append(verdict)
            verdicts.append(verdict)
        for verdict in verdicts:
            if isinstance(verdict, ValidatedSignal):
                self._route(self.execution.on_validated(verdict, named, ts))

    def _route(self, events: list[Event]) -> None:
        """Order events to risk and the portfolio, as they read them from the stream."""
        if not events:
            return
        for event in events:
            self.events.append(event)
            self.risk.on_order_event(event)
            if isinstance(event, OrderFilled):
                self._book_fill(event)
        last = events[-1]
        # nothing rested and the events (one order's) end it: nothing rests now either,
        # the common market order, which need not list the venue's open orders again
        if self.resting or not (
            (isinstance(last, OrderFilled) and last.final) or isinstance(last, OrderFailed)
        ):
            self.resting = self.execution.resting_tokens()

    def _book_fill(self, fill: OrderFilled) -> None:
        before = self.portfolio.book.strategy_realized(fill.strategy_id)
        # every fill of a tick is of the tick's instrument: a position it opens is marked
        # to that tick, as the live portfolio marks it to the last tick delivered
        if self.portfolio.on_order_event(fill) and self.tick is not None:
            self.portfolio.on_tick(*self.tick)
        realized = self.portfolio.book.strategy_realized(fill.strategy_id) - before
        ts = self.clock.now_ns()
        self.fills.append(
            FillRecord(
                ts_ns=ts, strategy_id=fill.strategy_id, instrument_token=fill.instrument_token,
                symbol=fill.symbol or self.symbols.get(fill.instrument_token, "")
                or str(fill.instrument_token),
                side=fill.side, quantity=fill.quantity, price=fill.price,
                charges=fill.charges.total, realized_pnl=realized,
                order_id=fill.client_order_id, fill_id=fill.fill_id,
            )
        )  # fmt: skip

    def _sample(self, ts: int) -> None:
        """Equity now: the account's, and each strategy's share of the capital plus its PnL.
        Every series gets a point at every sample, so they all end at the same time: a
        second sample at that time replaces each one's last point."""
        book = self.portfolio.book
        if self.portfolio.held or book.fills != self.net_fills:
            self.net = book.strategy_net()
            self.net_fills = book.fills
        # else nothing is held and no fill came since the last sample: equity is the cash,
        # unchanged, and so is every strategy's PnL (a flat book marks nothing)
        equity, pnl = self.net
        total, share, zero = self.total_series, self.share, _ZERO
        if total and total[-1].ts_ns == ts:
            total[-1] = EquityPoint(ts_ns=ts, equity=equity)
            for sid, series in self.strategy_series:
                series[-1] = EquityPoint(ts_ns=ts, equity=share + pnl.get(sid, zero))
        else:
            total.append(EquityPoint(ts_ns=ts, equity=equity))
            for sid, series in self.strategy_series:
                series.append(EquityPoint(ts_ns=ts, equity=share + pnl.get(sid, zero)))

    def _strategy_error(self, strategy_id: str, seq: int, exc: Exception) -> None:
        self.errors[strategy_id] += 1
        if strategy_id not in self.first_error:
            self.first_error[strategy_id] = f"tick {seq}: {type(exc).__name__}: {exc}"

    def _invalid(self, seq: int, exc: InvalidTick) -> None:
        self.invalid[exc.reason] += 1
        self.first_invalid.setdefault(exc.reason, f"tick {seq}: {exc}")

    def _findings(self, ticks: int) -> list[str]:
        found = list(self.spec.findings)
        found += [
            f"strategy {sid} raised on {n} of its ticks and was skipped on them (as the live "
            f"runner isolates it); first: {self.first_error[sid]}"
            for sid, n in sorted(self.errors.items())
        ]
        found += [
            f"{n} invalid ticks skipped ({reason}), as the live feed dead-letters them; "
            f"first: {self.first_invalid[reason]}"
            for reason, n in sorted(self.invalid.items())
        ]
        if ticks and not self.fills:
            found.append(f"no fills in {ticks} ticks: the strategies' signals (if any) were "
                         "all refused by risk or the venue")  # fmt: skip
        return found


def _on_paper(config: StrategyConfig) -> StrategyConfig:
    if BROKER in config.brokers:
        return config
    return StrategyConfig(
        id=config.id, type=config.type, instruments=config.instruments, params=config.params,
        brokers=(BROKER,), enabled=True, source=config.source,
    )  # fmt: skip


def run_backtest(ticks: Iterable[tuple[int, MarketTick]], spec: BacktestSpec) -> BacktestRun:
    """Drive the desks over `ticks` ((event time ns, tick), in time order)."""
    return _Engine(spec).run(ticks)
