"""Committed Avro schemas: export, and the checks CI runs on them.

`schemas/avro/<event type>.avsc` is what the structs generate today; every version ever
exported is kept as `schemas/avro/history/<event type>/v<N>.avsc`. The rules:

* the committed file equals the generated schema (else: run `alpha-panda schemas export`);
* the newest history version equals the committed file;
* each version can read data written with the one before it (BACKWARD), as decided by
  the Apache Avro library's `ReaderWriterCompatibilityChecker`, not by our own code.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any, Final

import schemas
from bridge.errors import BridgeError
from schemas.avro import all_schemas, canonical_json

__all__ = [
    "DEFAULT_DIR",
    "SchemaIncompatible",
    "backward_problems",
    "export_schemas",
    "check_schemas",
    "history_versions",
]

DEFAULT_DIR: Final = Path(schemas.__file__).resolve().parent / "avro"
_VERSION: Final = re.compile(r"^v(\d+)\.avsc$")


class SchemaIncompatible(BridgeError):
    """A generated schema cannot read data written with the previous committed version."""

    def __init__(self, name: str, problems: list[str]) -> None:
        super().__init__(
            f"{name}: the new schema is not BACKWARD compatible with the committed one: "
            + "; ".join(problems)
            + ". Give new fields a default and never change a field's type (STYLE 8)"
        )
        self.name = name
        self.problems = problems


def backward_problems(new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    """Why a reader with `new` cannot read data written with `old` (empty: compatible)."""
    from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
    from avro.schema import parse

    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(reader=parse(json.dumps(new)), writer=parse(json.dumps(old)))
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    messages = sorted(result.messages) or ["incompatible"]
    locations = sorted(result.locations)
    return [f"{m} (at {', '.join(locations)})" if locations else m for m in messages]


def history_versions(directory: Path, name: str) -> list[tuple[int, Path]]:
    folder = directory / "history" / name
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _VERSION.match(p.name))]
    return sorted(found)


def _load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise BridgeError(f"{path} is not an Avro record schema")
    return data


def export_schemas(directory: Path = DEFAULT_DIR, *, force: bool = False) -> dict[str, str]:
    """Write the generated schemas; refuse an incompatible change unless `force`."""
    directory.mkdir(parents=True, exist_ok=True)
    results: dict[str, str] = {}
    for name, schema in all_schemas().items():
        text = canonical_json(schema)
        path = directory / f"{name}.avsc"
        versions = history_versions(directory, name)
        if path.exists() and path.read_text() == text and versions:
            results[name] = "unchanged"
            continue
        if path.exists() and not force:
            problems = backward_problems(schema, _load(path))
            if problems:
                raise SchemaIncompatible(name, problems)
        latest = versions[-1][1].read_text() if versions else None
        path.write_text(text)
        if latest != text:
            number = versions[-1][0] + 1 if versions else 1
            target = directory / "history" / name / f"v{number}.avsc"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            results[name] = f"written (v{number})"
        else:
            results[name] = "written"
    return results


def check_schemas(directory: Path = DEFAULT_DIR) -> list[str]:
    """Every governance problem of the committed schemas, each with its remedy."""
    problems: list[str] = []
    generated = all_schemas()
    for name, schema in generated.items():
        path = directory / f"{name}.avsc"
        if not path.exists():
            problems.append(f"{path} is missing: run `alpha-panda schemas export` and commit it")
            continue
        committed = path.read_text()
        if committed != canonical_json(schema):
            detail = backward_problems(schema, _load(path))
            why = f"; and not BACKWARD compatible: {'; '.join(detail)}" if detail else ""
            problems.append(
                f"{path} differs from the schema the structs generate{why}: run "
                "`alpha-panda schemas export` and commit the result"
            )
        versions = history_versions(directory, name)
        if not versions:
            problems.append(f"{name}: no history under {directory / 'history' / name}; run export")
            continue
        if versions[-1][1].read_text() != committed:
            problems.append(f"{name}: {path.name} is not the newest history version; run export")
        for (older_n, older), (newer_n, newer) in itertools.pairwise(versions):
            for problem in backward_problems(_load(newer), _load(older)):
                problems.append(f"{name}: v{newer_n} cannot read v{older_n} data: {problem}")
    for path in sorted(directory.glob("*.avsc")):
        if path.stem not in generated:
            problems.append(f"{path} has no event type any more: delete it deliberately")
    return problems
