"""No secret of the running system (API token, Kite secret, NATS passwords) appears in
any page, live update or API answer."""

from __future__ import annotations

import httpx

from tests.web.conftest import TOKEN, System, secrets_of

PAGES = (
    "/",
    "/tree",
    "/portfolio",
    "/portfolio?by=strategy",
    "/blotter",
    "/strategies",
    "/dlq",
    "/bridge",
)
API = (
    "/api/v1/overview",
    "/api/v1/status",
    "/api/v1/tree",
    "/api/v1/brokers",
    "/api/v1/brokers/paper/portfolio",
    "/api/v1/brokers/paper/orders",
    "/api/v1/strategies",
    "/api/v1/dlq",
    "/api/v1/bridge",
    "/api/v1/openapi.json",
    "/healthz",
    "/readyz",
    "/metrics",
)


def _first_event(system: System, page: str) -> str:
    with httpx.stream("GET", system.base + f"/events/{page}", timeout=15) as r:
        for line in r.iter_lines():
            if line.startswith("data:"):
                return line
    return ""


def test_no_secret_appears_in_any_page_or_answer(system: System) -> None:
    secrets = secrets_of(system)
    assert len(secrets) > 3, "the embedded server's passwords were not found"
    bodies = {p: system.get(p).text for p in (*PAGES, *API)}
    bodies["/events/overview"] = _first_event(system, "overview")
    # refusals echo nothing of what was sent, right or wrong
    bodies["refused"] = system.post("/api/v1/halt", headers={"Authorization": "Bearer x"}).text
    bodies["accepted"] = system.post(
        "/api/v1/brokers/paper/reduce", headers={"Authorization": f"Bearer {TOKEN}"}
    ).text
    system.post("/api/v1/resume", headers={"Authorization": f"Bearer {TOKEN}"})
    bodies["the log of up"] = system.app.output(tail=10**7)
    for where, body in bodies.items():
        assert body, where
        for secret in secrets:
            assert secret not in body, f"a secret appears in {where}"


def test_reading_every_page_needs_no_permission_the_web_role_lacks(system: System) -> None:
    for path in (*PAGES, *API):
        assert system.get(path).status_code == 200, path
    replies = system.get("/api/v1/status").json()["replies"]
    security = replies[0]["process"]["security"]
    assert security["violations"] == 0, security
