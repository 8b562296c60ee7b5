"""One ConfigError: every package's configuration error derives from it and is final."""

from __future__ import annotations

import pytest

import ops.errors
from actors.errors import (
    InstrumentError,
    ParamError,
    RiskConfigError,
    StrategyConfigError,
    TickCsvError,
)
from bridge.errors import BridgeConfigError, BridgeError
from ops.cli import main
from schemas.errors import ConfigError, DecodeError
from supervisors.errors import is_retriable

CONFIG_ERRORS = [
    BridgeConfigError("KAFKA_BOOTSTRAP_SERVERS is not set"),
    StrategyConfigError("strategies.yaml:3", "s1", "type", "unknown type 'x'", "use momentum"),
    RiskConfigError("burst", 0, "orders allowed back to back, e.g. 20"),
    InstrumentError("instruments.csv:2: lot_size 0; give a positive lot size"),
    ParamError("lots", "must be at least 1", "set lots: 1"),
    TickCsvError("ticks.csv", 3, "last_price", "'abc' is not a decimal"),
]


@pytest.mark.parametrize("error", CONFIG_ERRORS, ids=lambda e: type(e).__name__)
def test_every_configuration_error_is_the_one_config_error_and_not_retriable(
    error: ConfigError,
) -> None:
    assert isinstance(error, ConfigError)
    assert isinstance(error, ValueError), "callers that catch ValueError still catch it"
    assert error.retriable is False
    assert not is_retriable(error)


def test_the_bridge_config_error_is_still_a_bridge_error() -> None:
    assert isinstance(CONFIG_ERRORS[0], BridgeError)


def test_ops_names_the_same_class() -> None:
    assert ops.errors.ConfigError is ConfigError


def test_decode_errors_are_not_retriable() -> None:
    assert not is_retriable(DecodeError("malformed JSON"))


def test_the_cli_prints_any_config_error_on_one_line_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `halt` without a token is refused before it connects anywhere.
    monkeypatch.delenv("ALPHA_PANDA_API_TOKEN", raising=False)
    assert main(["halt"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("alpha-panda: control actions need a token")
    assert err.count("\n") == 1 and "Traceback" not in err
