"""`alpha-panda schemas export|check|register`: Avro governance from the msgspec structs."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from bridge.errors import BridgeError
from bridge.governance.registry import RegistryClient
from bridge.governance.schema_files import DEFAULT_DIR, check_schemas, export_schemas
from bridge.governance.subjects import registry_check, registry_register
from ops.settings import load_settings

__all__ = ["register"]

EXIT_PROBLEMS = 1
EXIT_USAGE = 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "schemas", help="Avro schemas from the event structs: export, check, register"
    )
    sub = parser.add_subparsers(dest="schemas_command", metavar="SUBCOMMAND", required=True)
    export = sub.add_parser("export", help="write schemas/avro/*.avsc from the structs")
    export.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    export.add_argument(
        "--force", action="store_true", help="write even a change that is not BACKWARD compatible"
    )
    export.set_defaults(func=_cmd_export)
    check = sub.add_parser("check", help="committed == generated, BACKWARD compatible history")
    check.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=_cmd_check)
    reg = sub.add_parser("register", help="register <topic>-value subjects (SCHEMA_REGISTRY_URL)")
    reg.add_argument("--dry-run", action="store_true", help="only check compatibility")
    reg.set_defaults(func=_cmd_register)


def _cmd_export(args: argparse.Namespace) -> int:
    try:
        results = export_schemas(args.dir, force=args.force)
    except BridgeError as exc:
        print(f"alpha-panda schemas export: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    for name, result in results.items():
        print(f"{name:<18} {result}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    problems = check_schemas(args.dir)
    url = load_settings().schema_registry_url
    if url:
        problems += asyncio.run(registry_check(RegistryClient(url)))
    if args.json:
        print(json.dumps({"problems": problems, "registry": bool(url)}))
    else:
        print("\n".join(problems) if problems else "schemas: committed, generated and compatible")
    return EXIT_PROBLEMS if problems else 0


def _cmd_register(args: argparse.Namespace) -> int:
    url = load_settings().schema_registry_url
    if not url:
        print("alpha-panda schemas register: set SCHEMA_REGISTRY_URL", file=sys.stderr)
        return EXIT_USAGE
    try:
        results = asyncio.run(registry_register(RegistryClient(url), dry_run=args.dry_run))
    except BridgeError as exc:
        print(f"alpha-panda schemas register: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    for subject, result in results.items():
        print(f"{subject:<40} {result}")
    return EXIT_PROBLEMS if any(r.startswith("incompatible") for r in results.values()) else 0
