"""Each module's `__all__` is its public surface: every name in it exists."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "actors.instruments",
    "actors.feed.gbm",
    "actors.feed.replay",
    "actors.feed.validation",
    "actors.strategies.base",
    "actors.strategies.momentum",
    "actors.strategies.mean_reversion",
    "actors.strategies.rsi",
    "actors.strategies.config",
    "actors.strategies.router",
    "actors.strategies.registry",
]


@pytest.mark.parametrize("name", MODULES)
def test_every_public_name_is_defined(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(exported) == len(set(exported))
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ names {attr!r}, which does not exist"
