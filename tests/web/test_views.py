"""Shaping `alpha.status` replies for the pages: per-broker figures merged across
processes, the zerodha session, stage health, the bridge, the drift."""

from __future__ import annotations

from typing import Any

from web import views


def _actor(name: str, broker: str | None, **figures: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "actor",
        "broker": broker,
        "state": "running",
        "restarts": 0,
        "mailbox_depth": 0,
        "mailbox_size": 64,
        "consumer_pending": 0,
        "processed": 1,
        "last_error": None,
        **figures,
    }


def _sup(name: str, *children: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "supervisor",
        "broker": None,
        "state": "running",
        "strategy": "one_for_one",
        "restarts": 0,
        "children": list(children),
    }


SESSION = {"user_id": "AB1234", "expires_at": "2026-12-02T06:00:00+05:30", "halted": None}
OWNER = {
    "process": {"pid": 1, "host": "a", "brokers": ["paper", "zerodha"], "env": "dev"},
    "tree": _sup(
        "root",
        _actor("bridge", None, kind_="bridge", healthy=True, streams={"PAPER": {"lag": 3}}),
        _sup("broker:zerodha", _actor("session-watch-zerodha", "zerodha", session=SESSION)),
        _sup(
            "broker:paper",
            _actor("risk-paper", "paper", last_error="Crash: boom", state="restarting", restarts=2),
        ),
    ),
    "pipeline": {
        "paper": {"trading_state": "ACTIVE", "signals": 7, "rejections": {"X": 1}},
        "zerodha": {"trading_state": "HALTED"},
    },
    "drift": {"live": "zerodha", "paper": "paper", "pairs": 2},
}
STRATEGIES = {
    "process": {"pid": 2, "host": "b", "brokers": ["paper"]},
    "tree": _sup("root", _actor("strategies-paper", "paper")),
    "pipeline": {
        "paper": {
            "ticks": 50,
            "ticks_per_s": 10.0,
            "strategies": {"m1": {"fills": 3, "realized_pnl": "1.50"}},
        }
    },
}


def test_the_overview_merges_every_process_per_broker() -> None:
    ov = views.overview([OWNER, STRATEGIES], {"paper": {"realized_pnl": "12.30"}})
    paper, zerodha = ov["brokers"]
    assert paper["broker"] == "paper" and paper["signals"] == 7 and paper["ticks"] == 50
    assert paper["realized_pnl"] == "12.30"  # the portfolio's own snapshot wins
    assert {s["name"] for s in paper["stages"]} == {"risk-paper", "strategies-paper"}
    risk = next(s for s in paper["stages"] if s["name"] == "risk-paper")
    assert risk["healthy"] is False and risk["restarts"] == 2
    assert zerodha["trading_state"] == "HALTED" and zerodha["session"] == SESSION
    assert ov["drift"]["pairs"] == 2 and len(ov["processes"]) == 2


def test_the_tree_is_flattened_with_depths_parents_first() -> None:
    rows = views.tree_rows([OWNER])
    assert [(r["depth"], r["name"]) for r in rows][:3] == [
        (0, "root"),
        (1, "bridge"),
        (1, "broker:zerodha"),
    ]
    assert rows[-1]["last_error"] == "Crash: boom"


def test_the_bridge_is_found_or_said_to_be_off() -> None:
    assert views.bridge_status([OWNER])["streams"] == {"PAPER": {"lag": 3}}
    off = views.bridge_status([STRATEGIES])
    assert off["running"] is False and "KAFKA_BOOTSTRAP_SERVERS" in off["reason"]


def test_strategies_carry_their_live_figures_per_broker() -> None:
    rows = views.strategy_rows([{"id": "m1", "params": {"w": 2}}], [STRATEGIES])
    assert rows[0]["live"] == {"paper": {"fills": 3, "realized_pnl": "1.50"}}


def test_blotter_filters_all_hold() -> None:
    rows = [
        {"event": "filled", "strategy_id": "a", "symbol": "INFY", "side": "BUY"},
        {"event": "filled", "strategy_id": "b", "symbol": "INFY", "side": "SELL"},
        {"event": "submitted", "strategy_id": "a", "symbol": "TCS", "side": "BUY"},
    ]
    assert views.filter_orders(rows, event="filled", symbol="infy", side="BUY") == rows[:1]
    assert views.filter_orders(rows, strategy="a") == [rows[0], rows[2]]
