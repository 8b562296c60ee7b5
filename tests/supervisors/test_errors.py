"""The rule every retry loop applies: which errors may succeed if tried again."""

from __future__ import annotations

import json

import msgspec
import pytest

from schemas.errors import ConfigError, DecodeError
from supervisors.errors import ConsumerLost, Crash, PublishFailed, RuntimeFault, is_retriable


class Point(msgspec.Struct):
    x: int


def _raised(fn: object) -> BaseException:
    assert callable(fn)
    try:
        fn()
    except Exception as exc:
        return exc
    raise AssertionError("expected an exception")


def test_an_error_that_declares_retriable_is_taken_at_its_word() -> None:
    class Rejected(ValueError):
        retriable = False

    class Busy(Exception):
        retriable = True

    assert not is_retriable(Rejected("no"))
    assert is_retriable(Busy("later"))
    instance = Busy("not this one")
    instance.retriable = False
    assert not is_retriable(instance), "the instance's flag wins over its class's"


@pytest.mark.parametrize(
    "exc",
    [
        _raised(lambda: msgspec.convert({"x": "one"}, Point)),
        _raised(lambda: msgspec.json.decode(b"{not json")),
        _raised(lambda: json.loads("{not json")),
        _raised(lambda: b"\xff".decode("utf-8")),
        DecodeError("invalid envelope"),
    ],
    ids=["ValidationError", "msgspec.DecodeError", "JSONDecodeError", "UnicodeDecodeError",
         "schemas.DecodeError"],
)  # fmt: skip
def test_decode_and_validation_errors_are_not_retriable(exc: BaseException) -> None:
    assert not is_retriable(exc)


def test_unknown_errors_are_retriable_as_before() -> None:
    assert is_retriable(ValueError("plain"))
    assert is_retriable(KeyError("k"))
    assert is_retriable(TimeoutError())


def test_every_config_error_is_not_retriable() -> None:
    assert ConfigError.retriable is False
    assert not is_retriable(ConfigError("ALPHA_PANDA_X: bad; set it to y"))


def test_consumer_lost_is_a_runtime_fault_a_restart_can_cure() -> None:
    lost = ConsumerLost("PAPER/risk: consumer not found")
    assert isinstance(lost, RuntimeFault)
    assert is_retriable(lost)
    assert is_retriable(Crash("on purpose"))
    assert is_retriable(PublishFailed("paper.x", TimeoutError()))
