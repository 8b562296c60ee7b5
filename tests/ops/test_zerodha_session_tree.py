"""The session watcher joins the zerodha broker's subtree (with its execution role) and no
other broker's; the execution user may publish the halt it sends."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.stores.shared import Stores
from ops.config_loading import load_domain_config
from ops.settings import load_settings
from ops.tree import _broker_subtree
from ops.venues import paper_execution
from schemas.names import ControlVerb, control_subject
from schemas.permissions import role_permissions
from supervisors.bus import Bus


@pytest.mark.parametrize(
    ("broker", "roles", "watched"),
    [
        ("zerodha", ("execution", "risk", "portfolio", "strategies"), True),
        ("zerodha", ("strategies",), False),
        ("paper", ("execution", "risk", "portfolio", "strategies"), False),
    ],
)
async def test_the_watcher_runs_in_the_zerodha_subtree_only(
    tmp_path: Path, broker: str, roles: tuple[str, ...], watched: bool
) -> None:
    settings = load_settings(ALPHA_PANDA_DATA_DIR=str(tmp_path), ALPHA_PANDA_BROKERS="paper,zerodha",
                             KITE_API_KEY="k", KITE_ACCESS_TOKEN="t")  # fmt: skip
    config = await load_domain_config(settings)
    stores = Stores(None, None, tmp_path)
    bus = Bus.__new__(Bus)  # the spec only captures it; nothing connects here
    spec = _broker_subtree(bus, broker, roles, settings, config, stores, "me", paper_execution)  # type: ignore[arg-type]
    names = [c.name for c in spec.children]
    assert ("session-watch-zerodha" in names) is watched
    if watched:
        assert names[0] == "session-watch-zerodha"  # started first, stopped last
    await stores.close()


def test_the_execution_role_may_publish_the_zerodha_halt() -> None:
    perms = role_permissions("execution")
    assert perms.may_publish(control_subject(ControlVerb.HALT, "zerodha"))


def test_status_shows_the_session_and_why_zerodha_halted() -> None:
    from ops.commands.status import render_tree
    from supervisors.status import StatusNode

    reason = "zerodha session expires at 06:00 IST on 2026-12-02; run `alpha-panda zerodha login`"
    node = StatusNode(name="session-watch-zerodha", state="running", figures={"session": {
        "user_id": "SIM001", "expires_at": "2026-12-02T06:00:00+05:30",
        "halt_at": "2026-12-02T05:55:00+05:30", "halted": reason}})  # fmt: skip
    text = "\n".join(render_tree(node))
    assert "session SIM001 expires 2026-12-02T06:00:00+05:30" in text
    assert f"HALTED zerodha: {reason}" in text
