"""The bridge's layout by product, and its place below `ops`: it never imports it (ops
composes the bridge, never the reverse). Every module's `__all__` is checked with the rest
of the tree's in tests/test_public_surface.py."""

from __future__ import annotations

import ast
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


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_bridge_module_imports_ops(path: Path) -> None:
    imported: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.append(node.module)
    assert [m for m in imported if m == "ops" or m.startswith("ops.")] == []
