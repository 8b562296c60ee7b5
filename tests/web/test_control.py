"""Control over HTTP: refused without or with a wrong token, halt and resume with it, each
through the gate (which records who and when on audit.control)."""

from __future__ import annotations

from tests.web.conftest import TOKEN, System, wait_for

BEARER = {"Authorization": f"Bearer {TOKEN}"}


def _state(system: System) -> str:
    return str(system.overview()["trading_state"])


def test_control_without_a_token_or_with_a_wrong_one_is_refused(system: System) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        r = system.post("/api/v1/brokers/paper/halt", headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert "ALPHA_PANDA_API_TOKEN" in r.json()["error"]
    assert system.post("/api/v1/halt").status_code == 401
    assert system.post("/api/v1/dlq/1/redrive").status_code == 401
    assert _state(system) == "ACTIVE"


def test_halt_and_resume_paper_with_the_token(system: System) -> None:
    r = system.post(
        "/api/v1/brokers/paper/halt", headers=BEARER, json={"reason": "test", "operator": "pytest"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["subject"] == "control.halt.paper" and r.json()["id"]
    wait_for("paper HALTED", lambda: _state(system) == "HALTED")
    r = system.post("/api/v1/resume", headers=BEARER)
    assert r.status_code == 200 and r.json()["broker"] == "all"
    wait_for("paper ACTIVE again", lambda: _state(system) == "ACTIVE")


def test_a_broker_that_does_not_run_is_404_naming_the_running_ones(system: System) -> None:
    r = system.post("/api/v1/brokers/zerodha/halt", headers=BEARER)
    assert r.status_code == 404
    assert "paper" in r.json()["error"]


def test_a_bad_body_is_422_naming_the_field(system: System) -> None:
    r = system.post("/api/v1/brokers/paper/reduce", headers=BEARER, json={"reasn": "typo"})
    assert r.status_code == 422, r.text
    r = system.post("/api/v1/brokers/paper/reduce", headers=BEARER, json={"reason": 5})
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = system.post("/api/v1/brokers/paper/reduce", headers=BEARER, content=b"{not json")
    assert r.status_code == 422 and r.json()["field"] == "body"
    assert _state(system) == "ACTIVE"


def _restarts(system: System, name: str) -> tuple[int, str]:
    rows = system.get("/api/v1/tree").json()["rows"]
    row = next(r for r in rows if r["name"] == name)
    return int(row["restarts"]), str(row["state"])


def test_restart_an_actor_needs_the_token_names_valid_actors_and_restarts_it(
    system: System,
) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        assert system.post("/api/v1/actors/risk-paper/restart", headers=headers).status_code == 401
    r = system.post("/api/v1/actors/nope/restart", headers=BEARER)
    assert r.status_code == 404 and "risk-paper" in r.json()["error"]
    before, _ = _restarts(system, "risk-paper")
    r = system.post("/api/v1/actors/risk-paper/restart", headers=BEARER, json={"reason": "t"})
    assert r.status_code == 200, r.text
    assert r.json()["subject"] == "control.restart" and r.json()["actor"] == "risk-paper"
    wait_for("risk-paper restarted", lambda: _restarts(system, "risk-paper") == (before + 1,
             "running"))  # fmt: skip
    assert "/api/v1/actors/{name}/restart" in system.get("/api/v1/openapi.json").json()["paths"]
    assert 'data-action="restart"' in system.get("/tree").text
