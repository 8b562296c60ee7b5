"""Each module's `__all__` is its public surface (STYLE 2), checked over the source tree.

- every module that holds code declares `__all__`, and every name in it exists, once;
- every name one top-level package imports from another package's module is in that
  module's `__all__`: what crosses a package boundary is public, and what is public is
  declared. (Imports inside a package may reach its private names.)
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGES = ("schemas", "supervisors", "actors", "ops", "bridge", "web")
ROOT = Path(__file__).resolve().parent.parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


SOURCES = {
    _module_name(path): path
    for package in PACKAGES
    for path in sorted((ROOT / package).rglob("*.py"))
}


def _holds_code(tree: ast.Module) -> bool:
    """Anything beyond a docstring and `from __future__` imports."""
    return any(
        not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        and not (isinstance(node, ast.ImportFrom) and node.module == "__future__")
        for node in tree.body
    )


def _public(module: str) -> list[str]:
    exported = getattr(importlib.import_module(module), "__all__", None)
    assert exported is not None, f"{module} has no __all__"
    return list(exported)


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _imports(module: str, tree: ast.Module) -> Iterator[tuple[int, str, str]]:
    """(line, source module, name) for each name `module` takes from another package."""
    package = module.split(".")[0]

    def foreign(source: str) -> bool:
        top = source.split(".")[0]
        return top in PACKAGES and top != package

    bound: dict[str, str] = {}  # name a plain `import` binds -> the module it stands for
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if foreign(node.module):
                for alias in node.names:
                    if f"{node.module}.{alias.name}" not in SOURCES:  # a submodule, not a name
                        yield node.lineno, node.module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if foreign(alias.name):  # `import a.b` binds `a`; `import a.b as z`, `z`
                    local = alias.asname or alias.name.split(".")[0]
                    bound[local] = alias.name if alias.asname else local
    if not bound:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            dotted = _dotted(node.value)
            if dotted is None:
                continue
            head, _, rest = dotted.partition(".")
            if head not in bound:
                continue
            source = bound[head] + (f".{rest}" if rest else "")
            dunder = node.attr.startswith("__") and node.attr.endswith("__")  # __file__
            if source in SOURCES and f"{source}.{node.attr}" not in SOURCES and not dunder:
                yield node.lineno, source, node.attr


@pytest.mark.parametrize("module", sorted(SOURCES))
def test_every_module_declares_its_public_names_and_each_exists_once(module: str) -> None:
    tree = ast.parse(SOURCES[module].read_text())
    if not _holds_code(tree):
        return  # a package's docstring-only __init__: the import path is the API
    exported = _public(module)
    assert len(exported) == len(set(exported)), f"{module}.__all__ repeats a name"
    loaded = importlib.import_module(module)
    missing = [name for name in exported if not hasattr(loaded, name)]
    assert missing == [], f"{module}.__all__ names {missing}, which do not exist"


@pytest.mark.parametrize("module", sorted(SOURCES))
def test_what_crosses_a_package_boundary_is_in_the_sources_all(module: str) -> None:
    tree = ast.parse(SOURCES[module].read_text())
    undeclared = [
        f"line {line}: {name} from {source}"
        for line, source, name in _imports(module, tree)
        if name not in _public(source)
    ]
    assert undeclared == [], f"{module} imports names its sources do not export: {undeclared}"


def test_the_check_sees_the_packages_and_their_imports() -> None:
    """Guards the walk itself: an empty tree or a blind import scan would pass vacuously."""
    assert {m.split(".")[0] for m in SOURCES} >= {"schemas", "supervisors", "actors", "ops"}
    tree = ast.parse(SOURCES["supervisors.handling"].read_text())
    assert (("schemas.errors", "DecodeError") in
            {(source, name) for _, source, name in _imports("supervisors.handling", tree)})  # fmt: skip
    plain = ast.parse(
        "import schemas.names\nx = schemas.names.dlq_subject('a')\nhere = schemas.__file__\n"
    )
    assert [(s, n) for _, s, n in _imports("ops.example", plain)] == [
        ("schemas.names", "dlq_subject")
    ]
