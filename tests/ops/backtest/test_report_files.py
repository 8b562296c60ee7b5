"""What the report writes: every figure in report.json, every fill in trades.csv, charts,
one self-contained report.html, and the console table."""

from __future__ import annotations

import csv
import json
import re
import struct
from decimal import Decimal
from pathlib import Path

from ops.backtest.formatting import percent, rupees, signed_rupees
from ops.backtest.report import console_table, write_report
from ops.backtest.results import TOTAL, BacktestResult, EquityPoint
from ops.backtest.summary import summarise
from tests.ops.backtest.sample import random_result
from tests.ops.backtest.test_figures_by_hand import RESULT


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_report_json_has_every_figure_per_strategy_and_total(tmp_path: Path) -> None:
    result = BacktestResult(**{**{f: getattr(RESULT, f) for f in RESULT.__struct_fields__},
                               "findings": ["a gap"], "config": {"data": "x.csv"}})  # fmt: skip
    report = json.loads(write_report(result, tmp_path).json.read_text())
    assert report["capital"] == "100000.00" and report["start"] == "2026-01-05T09:15:00+05:30"
    assert report["findings"] == ["a gap"] and report["config"] == {"data": "x.csv"}
    assert set(report["strategies"]) == {"alpha", "beta"}
    total = report["total"]
    # amounts are strings rounded to the paisa; ratios are numbers, null when undefined
    assert total["net_pnl"] == "775.42" and total["end_equity"] == "100775.42"
    assert total["charges"] == "9.40" and total["turnover"] == "138100.00"
    assert total["average_loss"] == "-500.00" and total["trades"] == 3
    assert abs(total["sharpe"] - 0.9486832980505138) < 1e-12
    assert total["max_drawdown_days"] == 2.0
    assert total["drawdown"]["peak"] == "2026-01-07T15:30:00+05:30"
    assert total["drawdown"]["recovered"] is False and total["drawdown"]["recovery"] is None
    assert report["strategies"]["beta"]["profit_factor"] is None
    assert report["conventions"]["annualisation"].startswith("252 trading days")
    for key in ("total_return", "annualised_return", "sortino", "volatility", "win_rate",
                "exposure", "gross_profit", "realized_pnl", "fills", "wins", "losses"):  # fmt: skip
        assert key in total, key


def test_trades_csv_lists_every_fill_in_time_order_exactly_as_booked(tmp_path: Path) -> None:
    shuffled = BacktestResult(**{**{f: getattr(RESULT, f) for f in RESULT.__struct_fields__},
                                 "fills": list(reversed(RESULT.fills))})  # fmt: skip
    rows = list(csv.DictReader(write_report(shuffled, tmp_path).trades_csv.open()))
    assert [r["fill_id"] for r in rows] == [f"fill-{n}" for n in range(1, 7)]
    first = rows[0]
    assert first["time_ist"] == "2026-01-05T10:00:00+05:30" and first["side"] == "BUY"
    assert (first["quantity"], first["price"], first["value"], first["charges"]) == (
        "10", "2500", "25000", "1.50")  # fmt: skip
    assert rows[3]["realized_pnl"] == "-500"


def test_the_charts_are_pngs_of_the_stated_size(tmp_path: Path) -> None:
    files = write_report(RESULT, tmp_path)
    assert files.summary.total.trades.trades == 3  # the figures come back for the console
    assert png_size(files.equity_png) == (1000, 600)
    assert png_size(files.strategies_png) == (1000, 500)


def test_report_html_is_self_contained_and_formats_like_a_desk(tmp_path: Path) -> None:
    html = write_report(RESULT, tmp_path).html.read_text()
    # nothing is fetched: no external stylesheet, script, font or image
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html)
    assert "<script" not in html and "@import" not in html and "url(" not in html
    assert html.count('src="data:image/png;base64,') == 2
    assert ">+775.42<" in html  # net PnL, signed
    assert 'class="pos">+1,000.00<' in html and 'class="neg">-500.00<' in html
    assert ">138,100.00<" in html  # turnover with thousands separators
    assert ">+0.78%<" in html  # total return, 2 decimals
    assert "All 6 fills" in html


def test_report_html_escapes_what_it_shows(tmp_path: Path) -> None:
    result = BacktestResult(**{**{f: getattr(RESULT, f) for f in RESULT.__struct_fields__},
                               "findings": ["<script>alert(1)</script> & more"]})  # fmt: skip
    html = write_report(result, tmp_path).html.read_text()
    assert (
        "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    )


def test_report_html_lists_only_the_first_fills_of_a_long_run(tmp_path: Path) -> None:
    result = random_result(n_days=300, seed=5, strategies=2, fills_per_day=2)
    assert len(result.fills) == 1200
    html = write_report(result, tmp_path, trades_shown=500).html.read_text()
    body = html.split('<table id="trades">', 1)[1]
    assert body.count("<tr><td") == 500
    assert "The first 500 of 1200 fills; every fill is in trades.csv." in html


def test_the_console_table_has_fixed_width_columns_and_the_total_last() -> None:
    text = console_table(summarise(RESULT))
    heading, header, rule, alpha, beta, rule2, total = text.splitlines()
    assert heading.startswith("Backtest 2026-01-05 09:15:00 to 2026-01-09 15:30:00 IST")
    assert "capital 100,000.00" in heading and "0 findings" in heading
    assert len({len(line) for line in (header, rule, alpha, beta, rule2, total)}) == 1
    assert set(rule) == {"-"} and rule == rule2
    assert alpha.startswith("alpha ") and total.startswith("total ")
    assert header.split()[:3] == ["Strategy", "Net", "PnL"]
    cells = re.split(r"\s{2,}", total)
    assert cells[1:4] == ["+775.42", "+0.78%", "+47.60%"]
    assert "n/a" in beta  # beta has no losing trade: no profit factor


def test_desk_formats() -> None:
    assert rupees(Decimal("1234567.005")) == "1,234,567.01"  # half up to the paisa
    assert signed_rupees(Decimal("-0.004")) == "0.00" and signed_rupees(Decimal("12")) == "+12.00"
    assert signed_rupees(None) == "n/a" and rupees(None) == "n/a"
    assert percent(-0.00001, signed=True) == "0.00%" and percent(0.123456) == "12.35%"
    assert percent(-0.5, signed=True) == "-50.00%" and percent(None) == "n/a"


def test_charts_of_an_empty_or_one_point_curve_are_still_pngs(tmp_path: Path) -> None:
    one = [EquityPoint(ts_ns=RESULT.start_ns, equity=Decimal(100000))]
    cases: list[tuple[str, dict[str, list[EquityPoint]]]] = [
        ("empty", {TOTAL: []}), ("one", {TOTAL: one, "alpha": one})]  # fmt: skip
    for name, curves in cases:
        result = BacktestResult(capital=Decimal(1), start_ns=RESULT.start_ns,
                                end_ns=RESULT.end_ns, equity=curves)  # fmt: skip
        files = write_report(result, tmp_path / name)
        assert png_size(files.equity_png) == (1000, 600)
        assert png_size(files.strategies_png) == (1000, 500)


def test_the_console_lists_the_first_findings_and_counts_the_rest() -> None:
    found = [f"finding {n}" for n in range(1, 9)]
    result = BacktestResult(**{**{f: getattr(RESULT, f) for f in RESULT.__struct_fields__},
                               "findings": found})  # fmt: skip
    lines = console_table(summarise(result)).splitlines()
    assert "8 findings" in lines[0]
    at = lines.index("Findings:")
    assert lines[at + 1 :] == [*(f"  - finding {n}" for n in range(1, 6)),
                               "  ... and 3 more; see report.json"]  # fmt: skip


def test_no_findings_add_no_lines_to_the_console() -> None:
    assert "Findings:" not in console_table(summarise(RESULT))
