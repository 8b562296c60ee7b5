"""strategies.yaml and strategies-table rows: validation, errors that name the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actors.errors import StrategyConfigError
from actors.instruments import InstrumentBook
from actors.strategies.config import build_strategies, configs_from_rows, load_strategies_yaml
from actors.strategies.momentum import MomentumParams, MomentumStrategy
from actors.strategies.registry import strategy_type
from schemas.enums import OrderType

BOOK = InstrumentBook.default()

GOOD = """\
- id: mom-banks
  type: momentum
  instruments: [SBIN, 341249, "NSE:ICICIBANK"]
  brokers: [paper, zerodha]
  params: {fast_window: 3, slow_window: 8, lots: 2, order_type: LIMIT, limit_offset_ticks: 1}

- id: rsi-off
  type: rsi
  instruments: [ITC]
  enabled: false

- id: live-only
  type: mean_reversion
  instruments: [TCS]
  brokers: [zerodha]
  params: {window: 10, entry_z: 2, exit_z: 0}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "strategies.yaml"
    path.write_text(text)
    return path


def _error(tmp_path: Path, text: str) -> StrategyConfigError:
    with pytest.raises(StrategyConfigError) as info:
        load_strategies_yaml(_write(tmp_path, text), BOOK)
    return info.value


def test_loads_strategies_resolving_symbols_and_tokens_against_the_book(tmp_path: Path) -> None:
    mom, rsi, live = load_strategies_yaml(_write(tmp_path, GOOD), BOOK)
    assert mom.id == "mom-banks"
    assert mom.tokens == (779521, 341249, 1270529)
    assert mom.brokers == ("paper", "zerodha")
    assert mom.params == MomentumParams(
        fast_window=3, slow_window=8, lots=2, order_type=OrderType.LIMIT, limit_offset_ticks=1
    )
    assert mom.source.endswith("strategies.yaml:1")
    assert (rsi.enabled, rsi.brokers) == (False, ("paper",))
    assert live.source.endswith("strategies.yaml:12")


def test_builds_only_the_enabled_strategies_of_the_given_broker(tmp_path: Path) -> None:
    configs = load_strategies_yaml(_write(tmp_path, GOOD), BOOK)
    assert [s.strategy_id for s in build_strategies(configs, "paper")] == ["mom-banks"]
    zerodha = build_strategies(configs, "zerodha")
    assert [s.strategy_id for s in zerodha] == ["mom-banks", "live-only"]
    assert isinstance(zerodha[0], MomentumStrategy)
    with pytest.raises(ValueError, match="unknown broker 'kite'"):
        build_strategies(configs, "kite")


def test_accepts_the_list_under_a_strategies_key(tmp_path: Path) -> None:
    text = "strategies:\n" + "".join(f"  {line}\n" for line in GOOD.splitlines())
    configs = load_strategies_yaml(_write(tmp_path, text), BOOK)
    assert [c.id for c in configs] == ["mom-banks", "rsi-off", "live-only"]
    assert configs[2].source.endswith(":13")


def test_an_empty_file_means_no_strategies(tmp_path: Path) -> None:
    assert load_strategies_yaml(_write(tmp_path, "# nothing yet\n"), BOOK) == []


def test_reports_bad_yaml_with_its_line(tmp_path: Path) -> None:
    error = _error(tmp_path, "- id: a\n  type: [momentum\n  instruments: [INFY]\n")
    assert error.source.endswith("strategies.yaml:4") or error.source.endswith("strategies.yaml:3")
    assert "not valid YAML" in str(error)
    assert "fix: fix the YAML syntax" in str(error)


def test_reports_an_unknown_type_with_the_known_ones(tmp_path: Path) -> None:
    error = _error(tmp_path, "- id: x\n  type: momo\n  instruments: [INFY]\n")
    assert (error.strategy_id, error.field) == ("x", "type")
    assert str(error).endswith(
        "strategies.yaml:1: strategy 'x': type: unknown type 'momo'; "
        "fix: use one of mean_reversion, momentum, rsi"
    )


def test_reports_an_unknown_instrument_and_suggests_known_symbols(tmp_path: Path) -> None:
    error = _error(tmp_path, "- id: x\n  type: momentum\n  instruments: [INFY, NOSUCH]\n")
    assert error.field == "instruments"
    assert "unknown instrument 'NOSUCH'" in error.problem
    assert "AXISBANK" in error.fix


def test_reports_a_bad_parameter_by_name_with_its_fix(tmp_path: Path) -> None:
    error = _error(
        tmp_path,
        "- id: x\n  type: momentum\n  instruments: [INFY]\n"
        "  params: {fast_window: 8, slow_window: 3}\n",
    )
    assert error.field == "params.slow_window"
    assert "must be greater than fast_window (8)" in error.problem
    assert error.fix == "set slow_window to a larger number than fast_window, e.g. 32"


def test_reports_an_unknown_parameter_with_the_known_ones(tmp_path: Path) -> None:
    error = _error(
        tmp_path, "- id: x\n  type: rsi\n  instruments: [INFY]\n  params: {periods: 5}\n"
    )
    assert error.field == "params.periods"
    assert error.problem == "is not a parameter of rsi"
    assert "period, oversold, overbought, exit_level" in error.fix


def test_reports_a_parameter_of_the_wrong_type(tmp_path: Path) -> None:
    error = _error(
        tmp_path, "- id: x\n  type: momentum\n  instruments: [INFY]\n  params: {lots: many}\n"
    )
    assert error.field == "params.lots"
    assert error.problem == "Expected `int`, got `str`"
    assert error.fix == "give a value of that type such as 1"


def test_reports_a_duplicate_id_with_where_it_was_first_used(tmp_path: Path) -> None:
    entry = "- id: x\n  type: momentum\n  instruments: [INFY]\n"
    error = _error(tmp_path, entry + entry)
    assert error.source.endswith(":4")
    assert error.field == "id"
    assert "is already used at" in error.problem
    assert error.problem.endswith("strategies.yaml:1")


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        (
            "- id: 'bad id'\n  type: rsi\n  instruments: [INFY]\n",
            "id",
            "'bad id' is not a valid id",
        ),
        ("- id: x\n  type: rsi\n  instrument: [INFY]\n", "instrument", "is not a strategy field"),
        ("- id: x\n  type: rsi\n  instruments: []\n", "instruments", "must be a non-empty list"),
        ("- id: x\n  type: rsi\n  instruments: [INFY, infy]\n", "instruments", "listed twice"),
        ("- id: x\n  type: rsi\n  instruments: [INFY]\n  brokers: [kite]\n", "brokers", "['kite']"),
        ("- id: x\n  type: rsi\n  instruments: [INFY]\n  enabled: 'yes'\n", "enabled", "'yes'"),
        ("- id: x\n  type: rsi\n  instruments: [INFY]\n  params: [1]\n", "params", "not a mapping"),
    ],
)
def test_reports_each_malformed_field(tmp_path: Path, text: str, field: str, problem: str) -> None:
    error = _error(tmp_path, text)
    assert error.field == field
    assert problem in error.problem
    assert error.fix


def test_reports_a_top_level_that_is_not_a_list(tmp_path: Path) -> None:
    assert "not a list of strategies" in str(_error(tmp_path, "id: x\ntype: rsi\n"))


def test_reports_a_missing_file_and_how_to_point_at_another(tmp_path: Path) -> None:
    with pytest.raises(StrategyConfigError, match="ALPHA_PANDA_STRATEGIES"):
        load_strategies_yaml(tmp_path / "absent.yaml", BOOK)


def test_reads_database_rows_with_json_columns_like_the_yaml(tmp_path: Path) -> None:
    from_yaml = load_strategies_yaml(_write(tmp_path, GOOD), BOOK)
    rows = [c.to_row() for c in from_yaml]
    rows[0] = {**rows[0], "params": json.dumps(rows[0]["params"]), "updated_at": "now"}
    from_rows = configs_from_rows(rows, BOOK)
    assert [(c.id, c.type, c.tokens, c.brokers, c.enabled, c.params) for c in from_rows] == [
        (c.id, c.type, c.tokens, c.brokers, c.enabled, c.params) for c in from_yaml
    ]
    assert from_rows[0].source == "strategies table row 'mom-banks'"


def test_reports_a_row_with_broken_json() -> None:
    row = {"id": "x", "type": "rsi", "instruments": "[INFY", "params": {}}
    with pytest.raises(
        StrategyConfigError, match="row 'x': strategy 'x': instruments: is not valid"
    ):
        configs_from_rows([row], BOOK)


def test_names_the_known_types_when_asked_for_an_unknown_one() -> None:
    with pytest.raises(KeyError, match="known types: mean_reversion, momentum, rsi"):
        strategy_type("breakout")
