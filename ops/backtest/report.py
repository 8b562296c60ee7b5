"""Write a backtest's report: report.json, trades.csv, equity.png, strategies.png and one
self-contained report.html (charts inlined as data URIs, no network needed to open it);
and the console summary table the CLI prints.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from ops.backtest.charts import equity_chart, strategies_chart
from ops.backtest.errors import ReportError
from ops.backtest.export import write_json, write_trades_csv
from ops.backtest.formatting import count, percent, rupees, signed_rupees, tone
from ops.backtest.ist import ist_text
from ops.backtest.results import TOTAL, BacktestResult, FillRecord
from ops.backtest.summary import Summary, summarise
from ops.backtest.tables import CONSOLE, RISK, TRADING, cells, drawdown_note

__all__ = [
    "TRADES_SHOWN",
    "FINDINGS_SHOWN",
    "ReportFiles",
    "console_table",
    "findings_lines",
    "render_html",
    "write_report",
]

TRADES_SHOWN = 500
FINDINGS_SHOWN = 5  # on the console; report.json lists every finding
"""report.html lists at most this many fills (trades.csv has them all)."""

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("ops.backtest", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """Where each part of the report was written, and the figures it shows."""

    summary: Summary
    out_dir: Path
    json: Path
    trades_csv: Path
    equity_png: Path
    strategies_png: Path
    html: Path


def _period(summary: Summary) -> str:
    r = summary.result
    return f"{ist_text(r.start_ns)} to {ist_text(r.end_ns)}"


def _trade_row(f: FillRecord) -> dict[str, str]:
    return {
        "time": ist_text(f.ts_ns), "strategy": f.strategy_id, "symbol": f.symbol,
        "side": f.side.value, "side_tone": "pos" if f.side.sign > 0 else "neg",
        "quantity": count(f.quantity), "price": rupees(f.price), "value": rupees(f.value),
        "charges": rupees(f.charges), "pnl": signed_rupees(f.realized_pnl),
        "pnl_tone": tone(f.realized_pnl), "order_id": f.order_id,
    }  # fmt: skip


def render_html(
    summary: Summary, equity_png: bytes, strategies_png: bytes, trades_shown: int = TRADES_SHOWN
) -> str:
    """The whole report as one HTML page with the two charts inlined."""
    r = summary.result
    fills = sorted(r.fills, key=lambda f: f.ts_ns)
    context: dict[str, Any] = {
        "period": _period(summary),
        "capital": rupees(r.capital),
        "risk_free": percent(r.risk_free_rate),
        "strategy_count": len(summary.strategies),
        "fill_count": len(fills),
        "findings": r.findings,
        "config": sorted(r.config.items()),
        "total_name": TOTAL,
        "tables": [
            {
                "id": "returns",
                "title": "Returns and risk",
                "headers": [c.header for c in RISK],
                "rows": cells(summary.rows, RISK),
            },
            {
                "id": "trading",
                "title": "Trading",
                "headers": [c.header for c in TRADING],
                "rows": cells(summary.rows, TRADING),
            },
        ],
        "total_drawdown": drawdown_note(summary.total),
        "equity_png": base64.b64encode(equity_png).decode("ascii"),
        "strategies_png": base64.b64encode(strategies_png).decode("ascii"),
        "shown": min(trades_shown, len(fills)),
        "trades": [_trade_row(f) for f in fills[:trades_shown]],
    }
    return _ENV.get_template("report.html.j2").render(context)


def console_table(summary: Summary) -> str:
    """The summary as fixed-width text: a heading line, then one row per strategy and total."""
    r = summary.result
    headers = ["Strategy", *(c.header for c in CONSOLE)]
    rows = [[f.name, *(c.text for c in row)] for f, row in cells(summary.rows, CONSOLE)]
    widths = [max(len(line[i]) for line in [headers, *rows]) for i in range(len(headers))]

    def line(values: list[str]) -> str:
        first = values[0].ljust(widths[0])
        rest = (v.rjust(w) for v, w in zip(values[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    rule = "-" * len(line(headers))
    body = [line(row) for row in rows]
    heading = (f"Backtest {_period(summary)} IST; capital {rupees(r.capital)}, amounts in "
               f"rupees; risk-free {percent(r.risk_free_rate)} a year; "
               f"{len(r.findings)} findings")  # fmt: skip
    table = [heading, line(headers), rule, *body[:-1], rule, body[-1]]
    return "\n".join([*table, *findings_lines(r.findings)]) + "\n"


def findings_lines(findings: Sequence[str], shown: int = FINDINGS_SHOWN) -> list[str]:
    """The first `shown` findings (data problems, strategies that raised) for the console,
    then how many more report.json lists; nothing when there are none."""
    if not findings:
        return []
    lines = ["Findings:", *(f"  - {f}" for f in findings[:shown])]
    if len(findings) > shown:
        lines.append(f"  ... and {len(findings) - shown} more; see report.json")
    return lines


def write_report(
    result: BacktestResult, out_dir: Path, *, trades_shown: int = TRADES_SHOWN
) -> ReportFiles:
    """Compute the figures and write every file of the report into `out_dir` (created)."""
    summary = summarise(result)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(
            f"cannot create the report directory {out_dir}: {exc.strerror or exc}; "
            "pass --out a directory you can write to"
        ) from exc
    files = ReportFiles(
        summary=summary, out_dir=out_dir,
        json=out_dir / "report.json", trades_csv=out_dir / "trades.csv",
        equity_png=out_dir / "equity.png", strategies_png=out_dir / "strategies.png",
        html=out_dir / "report.html",
    )  # fmt: skip
    equity = equity_chart(result.equity[TOTAL])
    strategies = strategies_chart({k: v for k, v in result.equity.items() if k != TOTAL})
    write_json(summary, files.json)
    write_trades_csv(result.fills, files.trades_csv)
    files.equity_png.write_bytes(equity)
    files.strategies_png.write_bytes(strategies)
    html = render_html(summary, equity, strategies, trades_shown)
    files.html.write_text(html, encoding="utf-8")
    return files
