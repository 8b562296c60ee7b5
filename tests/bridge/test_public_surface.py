"""Each bridge module's `__all__` is its public surface: every name in it exists."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import bridge


@pytest.mark.parametrize("name", [m.name for m in pkgutil.iter_modules(bridge.__path__)])
def test_every_name_in_all_exists(name: str) -> None:
    module = importlib.import_module(f"bridge.{name}")
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"bridge.{name} has no __all__"
    assert [n for n in exported if not hasattr(module, n)] == []
