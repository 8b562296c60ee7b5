"""The tree builds each broker's execution from its venue, and skips a broker without one."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import cast

import pytest

from actors.paper.actor import PaperExecution
from actors.paper.venue import PaperVenue
from actors.stores.shared import Stores
from ops.config_loading import load_domain_config
from ops.settings import load_settings
from ops.tree import ROLES, build_tree
from ops.venues import VENUES
from supervisors.bus import Bus
from supervisors.supervisor import Supervisor

REPO = Path(__file__).resolve().parents[2]


async def test_paper_executes_on_the_paper_venue_with_the_configured_fill_model() -> None:
    settings = load_settings(ALPHA_PANDA_STRATEGIES=REPO / "strategies.yaml",
                             ALPHA_PANDA_PAPER='{"slippage_bps": "7"}')  # fmt: skip
    config = await load_domain_config(settings)
    actor = VENUES["paper"]("paper", config, None, frozenset({408065}))
    assert isinstance(actor, PaperExecution)
    assert isinstance(actor.desk.venue, PaperVenue)
    assert str(actor.book.config.slippage_bps) == "7"


async def test_a_broker_without_a_venue_gets_no_subtree(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(VENUES, "zerodha")  # a build without the Kite venue
    settings = load_settings(ALPHA_PANDA_STRATEGIES=REPO / "strategies.yaml",
                             ALPHA_PANDA_BROKERS="paper,zerodha",
                             ALPHA_PANDA_FEED="mock")  # fmt: skip
    config = await load_domain_config(settings)
    stores = Stores(None, None, tmp_path)
    with caplog.at_level(logging.WARNING, logger="ops.tree"):
        tree = build_tree(cast(Bus, None), settings, ROLES, config, stores, owner="test")
    names = [child.name for child in tree.children]
    assert "broker:paper" in names and "broker:zerodha" not in names
    assert "broker zerodha has no venue in this build" in caplog.text


async def test_the_drift_monitor_runs_only_when_zerodha_trades_beside_paper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def system_children(brokers: str) -> list[str]:
        settings = load_settings(ALPHA_PANDA_STRATEGIES=REPO / "strategies.yaml",
                                 ALPHA_PANDA_BROKERS=brokers)  # fmt: skip
        tree = build_tree(cast(Bus, None), settings, ROLES, config, Stores(None, None, tmp_path),
                          owner="test")  # fmt: skip
        [system] = [c for c in tree.children if c.name == "system"]
        supervisor = system.start()
        assert isinstance(supervisor, Supervisor)
        return [child.name for child in supervisor.spec.children]

    config = await load_domain_config(
        load_settings(ALPHA_PANDA_STRATEGIES=REPO / "strategies.yaml")
    )
    assert system_children("paper") == ["control-gate"]
    monkeypatch.setitem(VENUES, "zerodha", VENUES["paper"])  # as if its venue were built
    assert system_children("paper,zerodha") == ["control-gate", "drift-monitor"]
    assert system_children("zerodha") == ["control-gate"]
