"""Whatever curve and fills a run produces, summarising it raises nothing and every
figure stays within its range."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ops.backtest.report import console_table
from ops.backtest.results import TOTAL, BacktestResult, EquityPoint, FillRecord
from ops.backtest.summary import summarise
from schemas.enums import Side

HOUR = 3600 * 10**9
amounts = st.decimals(min_value=-(10**7), max_value=10**7, places=2, allow_nan=False)
points = st.lists(st.builds(EquityPoint, ts_ns=st.integers(0, 400 * HOUR), equity=amounts),
                  max_size=40)  # fmt: skip
fills = st.lists(
    st.builds(FillRecord, ts_ns=st.integers(0, 400 * HOUR), strategy_id=st.sampled_from("ab"),
              instrument_token=st.integers(1, 3), symbol=st.just("X"),
              side=st.sampled_from(Side), quantity=st.integers(1, 100),
              price=st.decimals(min_value=1, max_value=10**4, places=2),
              charges=st.decimals(min_value=0, max_value=50, places=2), realized_pnl=amounts,
              order_id=st.just("o"), fill_id=st.just("f")),
    max_size=30,
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(total=points, a=points, fills=fills, end_hours=st.integers(0, 400),
       rf=st.floats(0, 0.2))  # fmt: skip
def test_any_run_summarises_within_range(
    total: list[EquityPoint], a: list[EquityPoint], fills: list[FillRecord], end_hours: int,
    rf: float,
) -> None:  # fmt: skip
    result = BacktestResult(capital=Decimal(10**6), start_ns=0, end_ns=end_hours * HOUR,
                            equity={TOTAL: total, "a": a}, fills=fills, risk_free_rate=rf)  # fmt: skip
    s = summarise(result)
    for f in s.rows:
        c, t = f.curve, f.trades
        assert c.max_drawdown is None or c.max_drawdown <= 0.0  # below -1 once equity < 0
        if c.drawdown is not None:
            assert c.drawdown.peak_ns <= c.drawdown.trough_ns <= c.drawdown.end_ns
            assert c.drawdown.duration_days >= 0
        assert f.exposure is None or 0.0 <= f.exposure <= 1.0
        assert t.win_rate is None or 0.0 <= t.win_rate <= 1.0
        assert t.profit_factor is None or t.profit_factor >= 0
        assert t.wins + t.losses == t.trades <= t.fills
        assert t.charges >= 0 and t.turnover >= 0
    assert {f.name for f in s.strategies} == {"a"} | {x.strategy_id for x in fills}
    assert console_table(s).count("\n") == 5 + len(s.strategies)
