"""The JSON API of a running system: figures, validation, OpenAPI, health."""

from __future__ import annotations

from tests.web.conftest import System, wait_for


def test_the_overview_shows_paper_trading_and_its_figures_move(system: System) -> None:
    first = system.overview()
    assert first["trading_state"] in ("ACTIVE", "HALTED", "REDUCING")
    assert first["ticks"] > 0 and first["signals"] > 0 and first["fills"] > 0
    assert {s["name"] for s in first["stages"]} >= {"risk-paper", "execution-paper"}
    wait_for("the tick count to move", lambda: system.overview()["ticks"] > first["ticks"])


def test_the_portfolio_answers_per_instrument_and_per_strategy(system: System) -> None:
    body = system.get("/api/v1/brokers/paper/portfolio").json()
    assert body["available"] is True
    assert body["strategies"], body
    assert all("strategy_id" in s and "positions" in s for s in body["strategies"])
    assert "." in body["cash"]  # money travels as a decimal string


def test_the_blotter_filters_by_event_and_strategy(system: System) -> None:
    rows = system.get("/api/v1/brokers/paper/orders", params={"event": "filled"}).json()["rows"]
    assert rows and all(r["event"] == "filled" for r in rows)
    strategy = rows[0]["strategy_id"]
    picked = system.get(
        "/api/v1/brokers/paper/orders", params={"strategy": strategy, "limit": 5}
    ).json()
    assert 0 < picked["count"] <= 5
    assert all(r["strategy_id"] == strategy for r in picked["rows"])


def test_invalid_parameters_answer_422_naming_the_field(system: System) -> None:
    r = system.get("/api/v1/brokers/paper/orders", params={"limit": "lots"})
    assert r.status_code == 422 and r.json()["field"] == "limit"
    r = system.get("/api/v1/brokers/paper/orders", params={"event": "exploded"})
    assert r.status_code == 422 and r.json()["field"] == "event"
    assert "filled" in r.json()["error"]
    r = system.get("/api/v1/dlq", params={"limit": "0"})
    assert r.status_code == 422 and r.json()["field"] == "limit"


def test_an_unknown_broker_answers_404_naming_the_valid_ones(system: System) -> None:
    r = system.get("/api/v1/brokers/robinhood/portfolio")
    assert r.status_code == 404
    assert "paper" in r.json()["error"] and r.json()["field"] == "broker"


def test_the_openapi_schema_lists_every_route_with_the_halt_path(system: System) -> None:
    spec = system.get("/api/v1/openapi.json").json()
    paths = spec["paths"]
    assert "/api/v1/brokers/{broker}/halt" in paths
    assert {"/api/v1/halt", "/api/v1/overview", "/api/v1/dlq/{seq}/redrive"} <= set(paths)
    halt = paths["/api/v1/brokers/{broker}/halt"]["post"]
    assert halt["security"] == [{"bearer": []}] and "401" in halt["responses"]


def test_health_and_readiness(system: System) -> None:
    assert system.get("/healthz").json() == {"ok": True}
    r = system.get("/readyz")
    body = r.json()
    assert r.status_code == 200, body
    names = {c["check"] for c in body["checks"]}
    assert {"nats", "stream MARKET", "stream PAPER", "stream DLQ"} <= names


def test_the_process_metrics_are_served_with_the_broker_label(system: System) -> None:
    def fills_counted() -> bool:
        text = system.get("/metrics").text
        return any(line.startswith('alpha_broker_fills_total{broker="paper"}') and
                   float(line.rsplit(" ", 1)[1]) > 0 for line in text.splitlines())  # fmt: skip

    wait_for("paper fills in /metrics", fills_counted)


def test_a_missing_page_is_a_plain_404(system: System) -> None:
    r = system.get("/api/v1/nothing-here")
    assert r.status_code == 404 and "error" in r.json()
