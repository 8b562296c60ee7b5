"""The zerodha broker has a venue: the tree builds its subtree on Kite, and `up` refuses a
missing session at once, naming the variable or the login command."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from actors.kite.execution import KiteExecution
from actors.kite.session import KiteSessionError
from actors.kite.venue import KiteVenue
from actors.stores.shared import Stores
from ops.config_loading import load_domain_config
from ops.settings import load_settings
from ops.tree import ROLES, build_tree
from ops.venues import VENUES
from supervisors.bus import Bus
from tests.e2e.conftest import run_alpha_panda_up

REPO = Path(__file__).resolve().parents[2]
SIM = {"KITE_API_KEY": "kitesim", "KITE_ACCESS_TOKEN": "a-token", "KITE_ROOT": "http://127.0.0.1:9"}


async def test_zerodha_executes_on_the_kite_venue_and_gets_its_subtree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SIM.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(ALPHA_PANDA_STRATEGIES=REPO / "strategies.yaml",
                             ALPHA_PANDA_BROKERS="paper,zerodha")  # fmt: skip
    config = await load_domain_config(settings)
    actor = VENUES["zerodha"]("zerodha", config, None, frozenset({341249}))
    assert isinstance(actor, KiteExecution) and isinstance(actor.desk.venue, KiteVenue)
    assert actor.kite.kite.root == "http://127.0.0.1:9"
    assert "a-token" not in repr(actor.kite.stats())
    tree = build_tree(cast(Bus, None), settings, ROLES, config, Stores(None, None, tmp_path),
                      owner="test")  # fmt: skip
    assert {"broker:paper", "broker:zerodha"} <= {child.name for child in tree.children}


async def test_the_zerodha_venue_without_a_token_names_the_login_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KITE_API_KEY", "kitesim")
    monkeypatch.delenv("KITE_ACCESS_TOKEN", raising=False)
    settings = load_settings(ALPHA_PANDA_STRATEGIES=REPO / "strategies.yaml")
    config = await load_domain_config(settings)
    with pytest.raises(KiteSessionError, match="alpha-panda zerodha login"):
        VENUES["zerodha"]("zerodha", config, None, frozenset())


@pytest.mark.parametrize(
    ("kite", "named"),
    [({"KITE_API_KEY": "", "KITE_ACCESS_TOKEN": ""}, "KITE_API_KEY"),
     ({"KITE_API_KEY": "kitesim", "KITE_ACCESS_TOKEN": ""}, "alpha-panda zerodha login")],
)  # fmt: skip
def test_up_with_zerodha_and_no_session_exits_at_once_naming_the_fix(
    tmp_path: Path, kite: dict[str, str], named: str
) -> None:
    result = run_alpha_panda_up(
        tmp_path, strategies=REPO / "strategies.yaml",
        extra={"ALPHA_PANDA_BROKERS": "paper,zerodha", **kite},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert named in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0  # one line that says what to do
