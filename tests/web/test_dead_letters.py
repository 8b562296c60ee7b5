"""The dead-letter browser: a poison tick published into the running system shows on the
API and the page with its error and attempts, and is re-driven with the token (the gate's
consent recorded on audit.redrive) but never without it."""

from __future__ import annotations

from typing import Any

from schemas.names import tick_subject
from supervisors.bus import Bus
from supervisors.nats_auth import UserStore
from tests.web.conftest import TOKEN, System, wait_for

HDFCBANK = 341249


async def _operator(system: System) -> Bus:
    url = (system.app.data_dir / "nats.url").read_text().strip()
    auth = UserStore(system.app.data_dir / "nats-users.json").auth_for("operator")
    return await Bus.connect(url, name="web-tests", auth=auth)


def _letters(system: System) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = system.get("/api/v1/dlq").json()["rows"]
    return [r for r in rows if r["original_subject"] == tick_subject(HDFCBANK)]


async def test_a_poison_tick_is_listed_and_re_driven_with_the_token(system: System) -> None:
    bus = await _operator(system)
    try:
        await bus.publish_raw(tick_subject(HDFCBANK), b"this is not a tick", {})
    finally:
        await bus.close()
    letters = wait_for("the poison tick in the DLQ", lambda: _letters(system))
    letter = letters[0]
    assert letter["error"] and letter["attempts"] >= 1 and letter["actor"]
    page = system.get("/dlq").text
    assert f"{letter['seq']}" in page and "re-drive" in page

    path = f"/api/v1/dlq/{letter['seq']}/redrive"
    assert system.post(path).status_code == 401
    r = system.post(
        path, headers={"Authorization": f"Bearer {TOKEN}"}, json={"reason": "checked by hand"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True and r.json()["audit_id"]
    assert r.json()["outcome"] == "redriven"
    # sent once: the letter left the DLQ, so a second re-drive finds nothing
    again = system.post(path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert again.status_code == 404 and again.json()["field"] == "seq"


def test_re_driving_a_sequence_that_holds_no_letter_is_404(system: System) -> None:
    r = system.post("/api/v1/dlq/987654/redrive", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 404 and r.json()["field"] == "seq"
