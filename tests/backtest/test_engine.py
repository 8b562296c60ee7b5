"""The backtest engine on small hand-made sessions: findings, equity, limit orders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

import msgspec

from actors.instruments import InstrumentBook
from actors.paper.matching import PaperConfig
from actors.risk.limits import RiskLimits
from actors.strategies.base import Decision, Position, StrategyParams, StrategySnapshot
from actors.strategies.config import parse_strategies
from actors.strategies.momentum import MomentumSnapshot, MomentumStrategy
from actors.strategies.registry import register_strategy_type
from ops.backtest.engine import BacktestSpec, run_backtest
from ops.backtest.results import TOTAL, FillRecord
from schemas.events import MarketTick, OrderCancelled, OrderFilled

SECOND = 1_000_000_000
OPEN = 1_732_506_300 * SECOND  # 2024-11-25 09:15 IST
INFY = 408065
BOOK = InstrumentBook.default()
PRICES = ["1500", "1499", "1498", "1497", "1500", "1503", "1504", "1499", "1497", "1498"]


class _RaisingSnapshot(MomentumSnapshot, kw_only=True, tag="raising-test"):
    pass


class RaisingStrategy(MomentumStrategy):
    """Momentum that raises on every tick above 1500."""

    kind: ClassVar[str] = "raising-test"
    snapshot_type: ClassVar[type[StrategySnapshot[Any]]] = _RaisingSnapshot

    def _decide(self, token: int, price: Decimal, position: Position) -> Decision | None:
        if price > 1500:
            raise ZeroDivisionError("a bug in the strategy")
        return super()._decide(token, price, position)


register_strategy_type(RaisingStrategy, listed=False)
assert issubclass(RaisingStrategy.params_type, StrategyParams)


def ticks(prices: list[str], step_s: int = 1) -> list[tuple[int, MarketTick]]:
    out = []
    for n, price in enumerate(prices):
        ts = OPEN + n * step_s * SECOND
        tick = MarketTick(instrument_token=INFY, last_price=Decimal(price), symbol="INFY",
                          exchange_timestamp_ns=ts)  # fmt: skip
        out.append((ts, tick))
    return out


def spec(*entries: dict[str, Any], limit_ttl_s: float = 60.0) -> BacktestSpec:
    return BacktestSpec(
        strategies=tuple(parse_strategies(list(entries), BOOK)), book=BOOK,
        risk_limits=RiskLimits(), paper=PaperConfig(), capital=Decimal(1_000_000),
        limit_ttl_s=limit_ttl_s,
    )  # fmt: skip


MOMENTUM = {"id": "mom", "type": "momentum", "instruments": ["INFY"],
            "params": {"fast_window": 2, "slow_window": 4, "lots": 10}}  # fmt: skip


def test_a_strategy_that_raises_is_a_finding_and_the_others_still_trade() -> None:
    faulty = {**MOMENTUM, "id": "faulty", "type": "raising-test"}
    run = run_backtest(ticks(PRICES), spec(MOMENTUM, faulty))
    [finding] = run.result.findings
    assert finding.startswith("strategy faulty raised on 2 of its ticks")
    assert "ZeroDivisionError: a bug in the strategy" in finding
    alone = run_backtest(ticks(PRICES), spec(MOMENTUM))

    def content(fills: list[FillRecord]) -> list[FillRecord]:  # ids come from one counter
        return [msgspec.structs.replace(f, order_id="", fill_id="") for f in fills]

    assert content([f for f in run.result.fills if f.strategy_id == "mom"]) == content(
        alone.result.fills
    )


def test_every_equity_series_opens_at_its_capital_and_ends_at_the_last_tick() -> None:
    run = run_backtest(ticks(PRICES), spec(MOMENTUM))
    result = run.result
    assert set(result.equity) == {TOTAL, "mom"}
    for series in result.equity.values():
        assert series[0].ts_ns == OPEN and series[0].equity == Decimal(1_000_000)
        assert series[-1].ts_ns == result.end_ns == OPEN + 9 * SECOND
    final = result.equity[TOTAL][-1].equity
    book = run.portfolio
    assert (
        final
        == book.equity
        == Decimal(1_000_000) + book.realized_pnl + (book.unrealized_pnl - book.charges)
    )


def test_a_passive_limit_order_rests_and_expires_after_its_ttl_of_market_time() -> None:
    passive = {**MOMENTUM, "params": {"fast_window": 2, "slow_window": 4, "lots": 10,
                                      "order_type": "LIMIT", "limit_offset_ticks": -100}}  # fmt: skip
    # ten seconds between ticks: the buy at the cross (tick 6) rests 5.00 below the market
    # and expires at the first tick more than 15 s of market time after it
    run = run_backtest(ticks(PRICES, step_s=10), spec(passive, limit_ttl_s=15))
    cancels = [e for e in run.events if isinstance(e, OrderCancelled)]
    assert [c.reason for c in cancels][:1] == ["expired (limit_ttl_s)"]
    assert not [e for e in run.events if isinstance(e, OrderFilled)]


def test_the_same_ticks_and_seed_give_the_same_events_and_fills_byte_for_byte() -> None:
    passive = {**MOMENTUM, "id": "passive", "params": {"fast_window": 2, "slow_window": 4,
               "lots": 5, "order_type": "LIMIT", "limit_offset_ticks": -1}}  # fmt: skip
    encode = msgspec.json.Encoder(decimal_format="string").encode

    def once() -> tuple[bytes, bytes]:
        run = run_backtest(ticks(PRICES * 3), spec(MOMENTUM, passive))
        return encode(run.events), encode(run.result)

    first, second = once(), once()
    assert first == second
    assert b"order.filled" in first[0]
