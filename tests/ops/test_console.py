"""The console's lines from a tree's figures: per broker, money to the paisa, ticks/s over
the interval, and the final summary per broker and strategy."""

from __future__ import annotations

import io
from typing import Any

from ops.console import ConsoleSummary, broker_line, final_summary
from ops.figures import money, signed_money
from supervisors.status import StatusNode


def _tree(ticks: int, realized: str = "655.72000000000000000000000") -> StatusNode:
    def actor(name: str, broker: str | None, pipeline: dict[str, Any]) -> StatusNode:
        return StatusNode(name=name, kind="actor", state="running", broker=broker,
                          figures={"pipeline": pipeline})  # fmt: skip

    paper = [
        actor("strategies-paper", "paper", {"ticks": ticks, "signals": 12}),
        actor("risk-paper", "paper", {"trading_state": "ACTIVE", "rejected": 3,
                                      "rejections": {"RATE_LIMIT": 2, "PRICE_COLLAR": 1}}),
        actor("execution-paper", "paper", {"orders": 9, "fills": 9}),
        actor("portfolio-paper", "paper", {
            "realized_pnl": realized, "unrealized_pnl": "-12.305", "charges": "1234.5",
            "open_positions": 2,
            "strategies": {"momentum": {"fills": 9, "realized_pnl": "655.72",
                                        "unrealized_pnl": "-12.31", "charges": "1234.50"}},
        }),
    ]  # fmt: skip
    feed = actor("market-feed", None, {"ticks": ticks + 5, "invalid_ticks": 1})
    return StatusNode(name="root", kind="supervisor", state="running", children=[*paper, feed])


def test_money_is_to_the_paisa_with_separators_and_pnl_is_signed() -> None:
    assert money("655.72000000000000000000000") == "655.72"
    assert money("1234567.891") == "1,234,567.89"
    assert signed_money("-12.305") == "-12.31"
    assert signed_money("0") == "0.00" and signed_money("0.004") == "0.00"
    assert signed_money("3") == "+3.00"


def test_a_broker_line_is_compact_and_exact() -> None:
    fig = {"trading_state": "ACTIVE", "signals": 12, "rejected": 3, "fills": 9,
           "realized_pnl": "655.72000000000000000000000", "unrealized_pnl": "-12.305"}  # fmt: skip
    assert broker_line("paper", fig, 98.44) == (
        "paper ACTIVE: ticks/s 98.4  signals 12  rejections 3  fills 9  "
        "realized +655.72  unrealized -12.31"
    )


def test_ticks_per_second_is_over_the_interval_since_the_last_line() -> None:
    now = [100.0]
    console = ConsoleSummary(10, out=io.StringIO(), clock=lambda: now[0])
    now[0] = 110.0
    [first] = console.lines(_tree(500))
    now[0] = 120.0
    [second] = console.lines(_tree(1500))
    assert "ticks/s 50.0 " in first and "ticks/s 100.0 " in second
    assert first.split(" ", 1)[1].startswith("paper ACTIVE: ")


def test_the_final_summary_has_each_broker_and_each_strategy() -> None:
    lines = final_summary(_tree(6000), 63.25)
    assert lines[0] == "final summary after 63.2s"
    assert lines[1] == "  market: ticks published 6,005  invalid 1"
    assert lines[2] == (
        "  paper ACTIVE: ticks 6,000  signals 12  rejections 3 (PRICE_COLLAR 1, RATE_LIMIT 2)"
        "  orders 9  fills 9  realized +655.72  unrealized -12.31  charges 1,234.50"
        "  open positions 2"
    )
    assert lines[3] == (
        "    strategy momentum: fills 9  realized +655.72  unrealized -12.31  charges 1,234.50"
    )


def test_quiet_prints_no_lines_but_the_final_summary() -> None:
    out = io.StringIO()
    console = ConsoleSummary(None, out=out)
    console.stopped(_tree(10))
    assert out.getvalue().startswith("final summary after ")
