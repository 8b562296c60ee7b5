"""Each bridge module's `__all__` is its public surface: every name in it exists. And the
bridge sits below `ops`: it never imports it (ops composes the bridge, never the reverse)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import bridge

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(bridge.__path__, prefix="bridge.") if not m.ispkg
)
PACKAGES = sorted(
    m.name for m in pkgutil.walk_packages(bridge.__path__, prefix="bridge.") if m.ispkg
)
ROOT = Path(bridge.__file__).parent
SOURCES = sorted(ROOT.rglob("*.py"))


def test_the_bridge_is_laid_out_by_product() -> None:
    assert PACKAGES == [
        "bridge.governance", "bridge.mirror", "bridge.replay", "bridge.status", "bridge.topics",
    ]  # fmt: skip
    assert [m for m in MODULES if m.count(".") == 1] == ["bridge.errors"]


@pytest.mark.parametrize("name", MODULES)
def test_every_name_in_all_exists(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert [n for n in exported if not hasattr(module, n)] == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_bridge_module_imports_ops(path: Path) -> None:
    imported: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.append(node.module)
    assert [m for m in imported if m == "ops" or m.startswith("ops.")] == []
