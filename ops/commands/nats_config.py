"""`alpha-panda ops nats-config [--show] [--out FILE]`: the per-role NATS users.

`--show` prints the permission table (no secrets): for each user, what it may publish and
subscribe, and which stream subjects its consumers read. `--out FILE` writes the
nats-server `authorization` block for an operator's own server or cluster (bcrypt hashes
only) and the plaintext passwords beside it in `FILE.credentials.json` (mode 0600), for the
operator to hand out: the same table the embedded server uses. Run again, it keeps the
passwords that file already holds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from schemas.errors import ConfigError
from schemas.grants import Permissions
from schemas.permissions import USERS, permission_table
from supervisors.nats_auth import UserStore, authorization_block, check_private

__all__ = ["register", "render_table"]


def register(ops_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = ops_sub.add_parser(
        "nats-config", help="the per-role NATS users and permissions (authorization block)"
    )
    p.add_argument("--show", action="store_true", help="print the permission table")
    p.add_argument("--json", action="store_true", help="with --show: as JSON")
    p.add_argument("--out", type=Path, help="write the authorization block to FILE")
    p.add_argument(
        "--passwords",
        type=Path,
        help="with --out: a 0600 JSON file of {user: password} to use instead of new ones",
    )
    p.set_defaults(func=_nats_config)


def render_table(table: dict[str, Permissions]) -> str:
    """Per user, per subject family: what it publishes and subscribes (no secrets)."""
    lines = []
    for user, perms in table.items():
        lines.append(f"user {user}")
        for grant in perms.grants:
            verbs = (("pub", grant.publish), ("sub", grant.subscribe), ("reads", grant.consumes))
            for verb, subjects in verbs:
                if subjects:
                    lines.append(f"  {grant.family:<34} {verb:<5}  {'  '.join(subjects)}")
    return "\n".join(lines)


def _supplied(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise ConfigError(f"--passwords {path}: no such file")
    check_private(path)
    try:
        raw = json.loads(path.read_text())
    except ValueError as exc:
        raise ConfigError(f"--passwords {path} is not JSON ({exc})") from None
    if not isinstance(raw, dict) or not all(isinstance(v, str) and v for v in raw.values()):
        raise ConfigError(f"--passwords {path} must hold a JSON object of user: password")
    unknown = sorted(set(raw) - set(USERS))
    if unknown:
        raise ConfigError(f"--passwords {path}: unknown users {unknown}; known: {list(USERS)}")
    return raw


def _nats_config(args: argparse.Namespace) -> int:
    if not (args.show or args.out):
        print("alpha-panda ops nats-config: give --show, --out FILE or both", file=sys.stderr)
        return 2
    table = permission_table()
    if args.show:
        if args.json:
            body = {
                u: {"publish": p.publish, "subscribe": p.subscribe, "consumes": p.consumes}
                for u, p in table.items()
            }
            print(json.dumps(body, indent=2))
        else:
            print(render_table(table))
    if args.out:
        out: Path = args.out
        secrets_file = out.with_name(out.name + ".credentials.json")
        store = UserStore(secrets_file)
        if args.passwords:
            store.seed(_supplied(args.passwords))
        known = store.ensure(USERS)
        out.write_text(authorization_block(table, {u: known[u].bcrypt_hash for u in table}))
        print(f"wrote the authorization block for {len(table)} users to {out}")
        print(f"wrote their passwords to {secrets_file} (mode 0600): hand each role its own")
    return 0
