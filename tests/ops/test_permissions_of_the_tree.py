"""The permission table covers what the tree's actors consume, role by role.

The catalogue's answer to "which subjects does this role consume" is checked here too.

Built from the tree itself: for every role `up --role` accepts, each actor's declared inputs
(durable consumers, ordered reads, subscriptions, requests) and snapshot key must be allowed
to that role's user, so a new input cannot ship without its permission.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from actors.stores.shared import Stores
from ops.config_loading import load_domain_config
from ops.settings import load_settings
from ops.tree import ROLES as TREE_ROLES
from ops.tree import build_tree
from schemas.grants import Permissions
from schemas.names import STATE_BUCKET, kv_subject
from schemas.permissions import OWNER_ROLES, ROLES, role_permissions
from supervisors.actor import Actor, CoreSub, Durable, Ordered, Request
from supervisors.lease_gate import LeaseGate
from supervisors.runner import ActorProcess
from supervisors.supervisor import Supervisor, SupervisorSpec


def _actors(spec: SupervisorSpec, leases: list[str] | None = None) -> list[Actor]:
    """The actors under `spec`; the KV subjects of the leases guarding them go to `leases`."""
    found: list[Actor] = []
    for child in spec.children:
        started: Any = child.start()
        if isinstance(started, LeaseGate) and leases is not None:
            leases.append(kv_subject(started.lease.bucket, started.lease.key))
        if isinstance(started, Supervisor | LeaseGate):
            found.extend(_actors(started.spec, leases))
        elif isinstance(started, ActorProcess):
            found.append(started.actor)
    return found


def _problems(actor: Actor, perms: Permissions) -> list[str]:
    problems = []
    for inp in actor.inputs():
        if isinstance(inp, Durable):
            needed = [f"$JS.API.CONSUMER.MSG.NEXT.{inp.stream}.{inp.durable}",
                      f"$JS.ACK.{inp.stream}.{inp.durable}.1.2.3.4.5",
                      f"$JS.API.CONSUMER.CREATE.{inp.stream}.{inp.durable}"]  # fmt: skip
            if inp.replay:
                needed.append(f"$JS.API.CONSUMER.CREATE.{inp.stream}")
            problems += [f"publish {s}" for s in needed if not perms.may_publish(s)]
            problems += [f"consume {s}" for s in inp.subjects if not perms.may_consume(s)]
        elif isinstance(inp, Ordered):
            subject = f"$JS.API.CONSUMER.CREATE.{inp.stream}"
            if not perms.may_publish(subject):
                problems.append(f"publish {subject}")
            if not perms.may_consume(inp.subject):
                problems.append(f"consume {inp.subject}")
        elif isinstance(inp, CoreSub | Request) and not perms.may_subscribe(inp.subject):
            problems.append(f"subscribe {inp.subject}")
    if actor.snapshot_key and not perms.may_publish(kv_subject(STATE_BUCKET, actor.snapshot_key)):
        problems.append(f"snapshot {actor.snapshot_key}")
    return problems


@pytest.mark.parametrize("role", TREE_ROLES)
def test_each_role_may_consume_what_its_actors_declare(
    role: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(Path(__file__).parents[2])  # strategies.yaml of the repository
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    assert role in ROLES
    settings = load_settings(ALPHA_PANDA_DATA_DIR=str(tmp_path), ALPHA_PANDA_ENV="test")
    config = asyncio.run(load_domain_config(settings))
    stores = Stores(None, None, tmp_path)
    no_bus: Any = SimpleNamespace(js=None)  # the specs are read, never started
    tree = build_tree(no_bus, settings, (role,), config, stores, owner="test")
    leases: list[str] = []
    actors = _actors(tree, leases)
    # the bridge runs only with KAFKA_BOOTSTRAP_SERVERS; the web role serves pages, no actor
    # (tests/web checks its grants on an authenticated server)
    if role not in ("bridge", "web"):
        assert actors, f"role {role} builds no actor"
    perms = role_permissions(role)
    assert [k for k in leases if not perms.may_publish(k)] == [], f"{role}: its broker lease"
    assert bool(leases) is (role in OWNER_ROLES)
    for actor in actors:
        assert _problems(actor, perms) == [], f"{role}: {actor.name}"


def test_the_owner_user_runs_exactly_the_roles_the_tree_puts_under_a_broker_lease() -> None:
    from ops.tree import LEASED_ROLES

    assert set(LEASED_ROLES) == set(OWNER_ROLES)
