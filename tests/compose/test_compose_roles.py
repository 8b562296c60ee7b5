"""The app services of compose.yaml run the whole supervision tree, one role process each,
with commands the real command line accepts and the NATS user each role process needs."""

from __future__ import annotations

import pytest

from ops.cli import build_parser
from ops.tree import LEASED_ROLES, ROLES
from schemas.permissions import USERS, process_user
from tests.compose.stack import app_services, environment, role_services, services, up_roles


def test_every_role_of_the_tree_is_run_by_some_service() -> None:
    run = {role for s in role_services().values() for role in up_roles(s) or ()}
    assert set(ROLES) <= run, f"no service runs {sorted(set(ROLES) - run)}"


def test_a_brokers_stateful_roles_run_together_in_one_service() -> None:
    for name, service in role_services().items():
        roles = set(up_roles(service) or ())
        if roles & set(LEASED_ROLES):
            assert roles == set(LEASED_ROLES), (
                f"{name} runs {sorted(roles)}: a broker's {', '.join(LEASED_ROLES)} share its "
                "lease and run in one process"
            )
            brokers = environment(service)["ALPHA_PANDA_BROKERS"]
            assert "," not in brokers, f"{name}: one broker per owner service, not {brokers}"


@pytest.mark.parametrize("name", sorted(app_services()))
def test_each_app_command_is_one_the_command_line_accepts(name: str) -> None:
    service = services()[name]
    if service.get("entrypoint") or service["build"]["target"] != "app":
        return  # bus-auth runs the nats-auth script (test_compose_nats_auth); tests, pytest
    args = build_parser().parse_args(service["command"])
    assert callable(args.func)


def test_each_role_process_connects_as_the_user_of_its_roles() -> None:
    for name, service in role_services().items():
        env = environment(service)
        user = process_user(up_roles(service) or ())
        assert env["NATS_USER"] == user, f"{name} runs as {env['NATS_USER']}, wants {user}"
        assert env["NATS_PASSWORD"].startswith(f"${{NATS_PASSWORD_{user.upper()}:?"), name


def test_bus_auth_sets_the_password_of_every_user_a_service_connects_as() -> None:
    given = {
        key.removeprefix("NATS_PASSWORD_").lower()
        for key in environment(services()["bus-auth"])
        if key.startswith("NATS_PASSWORD_")
    }
    assert given <= set(USERS), f"unknown users {sorted(given - set(USERS))}"
    used = {
        environment(s)["NATS_USER"]
        for s in app_services().values()
        if "NATS_USER" in environment(s)
    }
    assert used <= given, f"bus-auth gives no password to {sorted(used - given)}"


@pytest.mark.xfail(
    reason="one strategy runner until sharding by instrument is wired (issue 18, item 3)",
    strict=True,
)
def test_strategy_shards_cover_every_shard_once() -> None:
    shards = [environment(s) for s in role_services().values() if up_roles(s) == ["strategies"]]
    assert len(shards) >= 2
    counts = {env["ALPHA_PANDA_STRATEGY_SHARDS"] for env in shards}
    assert counts == {str(len(shards))}, counts
    assert sorted(int(env["ALPHA_PANDA_STRATEGY_SHARD"]) for env in shards) == list(
        range(len(shards))
    )
