"""A misspelt flag prints the usage of the command it was meant for, with the closest flag,
not the top-level usage."""

from __future__ import annotations

import pytest

from ops.cli import main


def _refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_a_misspelt_flag_of_up_prints_ups_usage_and_the_closest_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    err = _refused(capsys, "up", "--durration", "5")
    assert err.startswith("usage: alpha-panda up ")
    assert "unrecognized arguments: --durration (did you mean --duration?) 5" in err
    assert "COMMAND" not in err, "not the top-level usage"


def test_a_misspelt_flag_with_a_value_and_of_a_nested_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert "(did you mean --summary-interval?)" in _refused(capsys, "up", "--summary-intervl=3")
    err = _refused(capsys, "dlq", "list", "--limt", "3")
    assert err.startswith("usage: alpha-panda dlq list ") and "did you mean --limit?" in err


def test_an_unknown_argument_with_nothing_close_is_named_alone(
    capsys: pytest.CaptureFixture[str],
) -> None:
    err = _refused(capsys, "status", "--zzzzzz")
    assert err.startswith("usage: alpha-panda status ")
    assert err.rstrip().endswith("unrecognized arguments: --zzzzzz")
