"""ALPHA_PANDA_PAPER and ALPHA_PANDA_RISK_LIMITS: an error shows that variable's own example,
and an unknown key lists the valid ones with the closest as a suggestion."""

from __future__ import annotations

import pytest

from actors.paper.matching import PaperConfig
from actors.risk.limits import RiskLimits
from ops.config_loading import parse_json_struct
from schemas.errors import ConfigError

PAPER = "ALPHA_PANDA_PAPER"
RISK = "ALPHA_PANDA_RISK_LIMITS"


def _error(raw: str, cls: type[PaperConfig] | type[RiskLimits], variable: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_json_struct(raw, cls, variable)
    return str(info.value)


def test_invalid_json_in_the_paper_settings_suggests_a_paper_example() -> None:
    text = _error("{slippage_bps: 5}", PaperConfig, PAPER)
    assert text.startswith(f"{PAPER} is not valid JSON")
    assert '"slippage_bps": 5' in text and "burst" not in text


def test_an_unknown_paper_key_lists_the_valid_ones_and_the_closest() -> None:
    text = _error('{"slipage_bps": 5}', PaperConfig, PAPER)
    assert "unknown key 'slipage_bps'; did you mean 'slippage_bps'?" in text
    assert "valid keys: " + ", ".join(PaperConfig.__struct_fields__) in text


def test_an_unknown_risk_key_lists_the_valid_ones_with_a_risk_example() -> None:
    text = _error('{"bust": 20}', RiskLimits, RISK)
    assert "unknown key 'bust'; did you mean 'burst'?" in text
    assert "valid keys: " + ", ".join(RiskLimits.__struct_fields__) in text
    assert '{"burst": 20' in text


def test_an_unknown_key_with_nothing_close_still_lists_the_valid_ones() -> None:
    text = _error('{"zzz": 1}', RiskLimits, RISK)
    assert "unknown key 'zzz'; valid keys: max_order_notional" in text


def test_a_bad_value_names_the_field_and_shows_the_example() -> None:
    text = _error('{"tick_size": 0}', PaperConfig, PAPER)
    assert "tick_size must be > 0" in text and '"partial_fills": true' in text
