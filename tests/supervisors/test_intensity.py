"""Restart intensity, escalation to the parent and the broker halt on giving up."""

from __future__ import annotations

import asyncio

import pytest

from supervisors.backoff import Backoff
from supervisors.child import Restart
from supervisors.errors import SupervisorGaveUp
from supervisors.supervisor import Supervisor
from tests.supervisors.fakes import Family, Running, supervisor, wait_for


async def test_a_supervisor_gives_up_after_more_than_max_restarts_within_the_period() -> None:
    fam = Family()
    sup = Supervisor(supervisor("s", [fam.spec("a")], max_restarts=2, period_s=10))
    task = asyncio.create_task(sup.run(lambda: None))
    for n in range(1, 4):
        await wait_for(lambda n=n: fam.starts("a") == n and fam.latest["a"]._end is not None)
        fam.latest["a"].crash()
    with pytest.raises(SupervisorGaveUp, match="gave up after 3 restarts within 10s"):
        await task
    assert fam.starts("a") == 3  # the first start and two restarts
    assert sup.state == "gave_up"


async def test_a_nested_supervisor_that_gives_up_escalates_to_its_parent_which_restarts_it(
    running: Running,
) -> None:
    fam = Family()
    halts: list[str] = []

    async def on_give_up(reason: str) -> None:
        halts.append(reason)

    inner = supervisor(
        "broker:paper", [fam.spec("risk")], max_restarts=1, period_s=10, on_give_up=on_give_up,
        broker="paper",
    )  # fmt: skip
    root, _ = await running(supervisor("root", [inner.as_child(), fam.spec("other")]))
    await wait_for(lambda: "risk" in fam.latest)
    fam.latest["risk"].crash()
    await wait_for(lambda: fam.starts("risk") == 2 and fam.latest["risk"]._end is not None)
    fam.latest["risk"].crash()
    # the inner supervisor gave up (halt published first), the root restarted the subtree
    await wait_for(lambda: fam.starts("risk") == 3)
    assert len(halts) == 1 and "broker:paper" in halts[0]
    status = root.status()
    assert status.children[0].restarts == 1
    assert "SupervisorGaveUp" in str(status.children[0].last_error)
    assert fam.starts("other") == 1  # the other subtree was untouched


async def test_restarts_outside_the_period_do_not_count_towards_intensity(running: Running) -> None:
    fam = Family()
    _, task = await running(supervisor("s", [fam.spec("a")], max_restarts=1, period_s=0.2))
    for n in range(1, 4):
        await wait_for(lambda n=n: fam.starts("a") == n and fam.latest["a"]._end is not None)
        await asyncio.sleep(0.25)
        fam.latest["a"].crash()
    await wait_for(lambda: fam.starts("a") == 4)
    assert not task.done()


async def test_a_child_failing_before_it_is_ready_is_restarted_before_the_next_starts(
    running: Running,
) -> None:
    fam = Family()
    fam.fail_start.add("b")
    spec = supervisor("s", [fam.spec("a"), fam.spec("b"), fam.spec("c")], max_restarts=50,
                      backoff=Backoff(min_s=0.02, max_s=0.02, jitter=0))  # fmt: skip
    sup = Supervisor(spec)
    task = asyncio.create_task(sup.run(lambda: None))
    await wait_for(lambda: fam.starts("b") >= 3)
    assert ("start", "c") not in fam.journal, "c waits until b is ready"
    fam.fail_start.clear()
    await wait_for(lambda: fam.starts("c") == 1)
    assert sup.status().children[1].restarts >= 3
    sup.request_stop()
    await task


async def test_a_child_that_never_starts_makes_its_supervisor_give_up() -> None:
    fam = Family()
    fam.fail_start.add("b")
    sup = Supervisor(supervisor("s", [fam.spec("a"), fam.spec("b")], max_restarts=3))
    with pytest.raises(SupervisorGaveUp, match="b failed to start"):
        await sup.run(lambda: None)
    assert fam.starts("b") == 4
    assert fam.journal[-1] == ("stop", "a")


async def test_a_child_ignoring_stop_is_cancelled_after_its_shutdown_timeout(
    running: Running,
) -> None:
    fam = Family()
    fam.ignore_stop.add("stuck")
    sup, task = await running(
        supervisor("s", [fam.spec("stuck", Restart.PERMANENT, shutdown_s=0.1)])
    )
    sup.request_stop()
    async with asyncio.timeout(2):
        await task
    assert fam.journal[-1] == ("stop", "stuck")
