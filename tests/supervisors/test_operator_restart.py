"""An operator's restart of one actor by name: the strategy applies, the intensity does not."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from supervisors.bus import Bus
from supervisors.child import ChildSpec
from supervisors.lease import Lease
from supervisors.lease_gate import LeaseGate
from supervisors.runner import ActorProcess
from supervisors.supervisor import Strategy, UnknownChild
from tests.conftest import unique
from tests.supervisors.fakes import Family, Running, supervisor, wait_for
from tests.supervisors.test_delivery import publish_inputs
from tests.supervisors.test_lease_gate import TTL, Echo, Started, gates  # noqa: F401 (a fixture)


async def test_one_for_one_restarts_only_the_named_child_through_stop_then_start(
    running: Running,
) -> None:
    fam = Family()
    sup, _ = await running(supervisor("s", [fam.spec("a"), fam.spec("b"), fam.spec("c")]))
    mark = len(fam.journal)
    outcome = await sup.restart_child("b")
    assert outcome.restarted and outcome.affected == ("b",)
    assert fam.events_since(mark) == [("stop", "b"), ("start", "b")]
    assert [c.restarts for c in sup.status().children] == [0, 1, 0]
    assert sup.status().restarts == 1 and sup.state == "running"


async def test_rest_for_one_restarts_the_named_child_and_those_after_it(running: Running) -> None:
    fam = Family()
    spec = supervisor("s", [fam.spec("a"), fam.spec("b"), fam.spec("c")], Strategy.REST_FOR_ONE)
    sup, _ = await running(spec)
    mark = len(fam.journal)
    assert (await sup.restart_child("b")).affected == ("b", "c")
    assert fam.events_since(mark) == [("stop", "c"), ("stop", "b"), ("start", "b"),
                                      ("start", "c")]  # fmt: skip


async def test_operator_restarts_do_not_count_towards_the_intensity(running: Running) -> None:
    fam = Family()
    sup, task = await running(supervisor("s", [fam.spec("a")], max_restarts=1, period_s=60))
    for _ in range(4):
        assert (await sup.restart_child("a")).restarted
    assert fam.starts("a") == 5 and sup.status().children[0].restarts == 4
    assert not task.done() and sup.gave_up is None


async def test_a_child_deep_in_the_tree_is_found_and_an_unknown_name_lists_the_valid_ones(
    running: Running,
) -> None:
    fam = Family()
    inner = supervisor("inner", [fam.spec("x"), fam.spec("y")])
    sup, _ = await running(supervisor("root", [fam.spec("a"), inner.as_child()]))
    assert (await sup.restart_child("y")).restarted
    assert fam.starts("y") == 2 and fam.starts("x") == 1
    with pytest.raises(UnknownChild, match=r"'nope'.*valid: a, inner, x, y"):
        await sup.restart_child("nope")


async def test_a_shutdown_timeout_applies_to_an_operator_restart(running: Running) -> None:
    fam = Family()
    fam.ignore_stop.add("a")
    sup, _ = await running(supervisor("s", [fam.spec("a", shutdown_s=0.2)]))
    outcome = await asyncio.wait_for(sup.restart_child("a"), 10)
    assert outcome.restarted and fam.starts("a") == 2


def _echo_spec(bus: Bus, prefix: str, made: list[Echo]) -> ChildSpec:
    def start() -> ActorProcess:
        made.append(Echo(prefix))
        return ActorProcess(made[-1], bus)

    return ChildSpec(name="echo", start=start, shutdown_s=5.0, start_timeout_s=10.0)


async def test_a_real_actor_restarted_keeps_its_durable_and_handles_again(
    bus: Bus, stream: str, running: Running
) -> None:
    made: list[Echo] = []
    sup, _ = await running(supervisor("s", [_echo_spec(bus, stream, made)]))
    await publish_inputs(bus, f"{stream}.in", 2)
    await wait_for(lambda: len(made[0].seen) == 2, 10)
    outcome = await sup.restart_child("echo")
    assert outcome.restarted and len(made) == 2
    await publish_inputs(bus, f"{stream}.in", 2)
    await wait_for(lambda: len(made[1].seen) == 2, 10)
    assert sup.status().children[0].state == "running"


async def test_a_standby_subtree_refuses_a_restart_and_starts_nothing(
    bus: Bus,
    gates: Callable[..., Started],  # noqa: F811
) -> None:
    bucket = unique("leases_")
    owner_fam, standby_fam = Family(), Family()
    a = gates(bus, owner_fam, bucket, "host-a:1:01A")
    await asyncio.wait_for(a.ready.wait(), 5)
    b = gates(bus, standby_fam, bucket, "host-b:2:01B")
    await asyncio.wait_for(b.ready.wait(), 5)
    refused = await b.gate.restart_child("portfolio")
    assert not refused.restarted and "does not hold lease" in refused.reason
    assert "host-a:1:01A" in refused.reason
    assert standby_fam.journal == [], "a standby's restart must not start its actors"
    done = await a.gate.restart_child("portfolio")
    assert done.restarted and owner_fam.starts("portfolio") == 2


async def test_a_parent_refuses_a_restart_of_its_standby_gate(
    bus: Bus,
    gates: Callable[..., Started],  # noqa: F811
    running: Running,
) -> None:
    bucket = unique("leases_")
    owner_fam, standby_fam = Family(), Family()
    a = gates(bus, owner_fam, bucket, "host-a:1:01A")
    await asyncio.wait_for(a.ready.wait(), 5)
    inner = supervisor("owner:paper", [standby_fam.spec("portfolio")], broker="paper")
    gate = LeaseGate(inner, Lease("broker-paper", "host-b:2:01B", TTL, bucket=bucket), bus.js)
    spec = ChildSpec(name=gate.name, start=lambda: gate, is_supervisor=True, start_timeout_s=5)
    sup, _ = await running(supervisor("root", [spec]))
    await wait_for(lambda: gate.state == "standby", 5)
    refused = await sup.restart_child(gate.name)
    assert not refused.restarted and "standby" in refused.reason
    refused = await sup.restart_child("portfolio")
    assert not refused.restarted and "does not hold lease" in refused.reason
    assert standby_fam.journal == []


async def test_a_restart_whose_start_keeps_failing_answers_when_the_supervisor_gives_up(
    running: Running,
) -> None:
    fam = Family()
    sup, task = await running(supervisor("s", [fam.spec("a")], max_restarts=1, period_s=60))
    fam.fail_start.add("a")
    outcome = await asyncio.wait_for(sup.restart_child("a"), 10)
    assert not outcome.restarted and "gave up" in outcome.reason
    await asyncio.wait({task}, timeout=5)
    assert sup.gave_up is not None
