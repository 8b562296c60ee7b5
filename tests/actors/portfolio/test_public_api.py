"""Each module's `__all__` is its public surface: every name in it exists, once."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("name", ["actors.portfolio.book"])
def test_every_public_name_exists_exactly_once(name: str) -> None:
    module = importlib.import_module(name)
    assert len(module.__all__) == len(set(module.__all__))
    for attr in module.__all__:
        assert hasattr(module, attr), f"{name}.__all__ names {attr!r}, which does not exist"
