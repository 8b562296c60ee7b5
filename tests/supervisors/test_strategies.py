"""Restart strategies: which children restart when one exits abnormally."""

from __future__ import annotations

from supervisors.supervisor import Strategy
from tests.supervisors.fakes import Family, Running, supervisor, wait_for


async def test_one_for_one_restarts_only_the_failed_child(running: Running) -> None:
    fam = Family()
    sup, _ = await running(supervisor("s", [fam.spec("a"), fam.spec("b"), fam.spec("c")]))
    fam.latest["b"].crash()
    await wait_for(lambda: fam.starts("b") == 2)
    assert (fam.starts("a"), fam.starts("b"), fam.starts("c")) == (1, 2, 1)
    assert sup.status().children[1].restarts == 1


async def test_one_for_all_restarts_every_child_stopping_in_reverse_and_starting_in_order(
    running: Running,
) -> None:
    fam = Family()
    await running(
        supervisor("s", [fam.spec("a"), fam.spec("b"), fam.spec("c")], Strategy.ONE_FOR_ALL)
    )
    mark = len(fam.journal)
    fam.latest["b"].crash()
    await wait_for(lambda: fam.starts("a") == 2 and fam.starts("c") == 2)
    assert fam.events_since(mark) == [
        ("stop", "b"),  # the crash itself
        ("stop", "c"),
        ("stop", "a"),
        ("start", "a"),
        ("start", "b"),
        ("start", "c"),
    ]


async def test_rest_for_one_restarts_the_failed_child_and_those_started_after_it(
    running: Running,
) -> None:
    fam = Family()
    await running(
        supervisor("s", [fam.spec("a"), fam.spec("b"), fam.spec("c")], Strategy.REST_FOR_ONE)
    )
    mark = len(fam.journal)
    fam.latest["b"].crash()
    await wait_for(lambda: fam.starts("c") == 2)
    assert fam.events_since(mark) == [("stop", "b"), ("stop", "c"), ("start", "b"), ("start", "c")]
    assert fam.starts("a") == 1


async def test_one_for_all_starts_no_child_after_one_whose_restart_failed(running: Running) -> None:
    fam = Family()
    sup, _ = await running(
        supervisor("s", [fam.spec("a"), fam.spec("b"), fam.spec("c")], Strategy.ONE_FOR_ALL)
    )
    mark = len(fam.journal)
    fam.fail_next["b"] = 1
    fam.latest["b"].crash()
    await wait_for(lambda: fam.starts("c") == 2)
    assert fam.events_since(mark) == [
        ("stop", "b"), ("stop", "c"), ("stop", "a"),
        ("start", "a"),
        ("start", "b"),  # fails before it is ready: c must wait
        ("start", "b"),
        ("start", "c"),
    ]  # fmt: skip
    assert [c.restarts for c in sup.status().children] == [1, 2, 1]


async def test_rest_for_one_starts_no_child_after_one_whose_restart_failed(
    running: Running,
) -> None:
    fam = Family()
    sup, _ = await running(
        supervisor("s", [fam.spec("a"), fam.spec("b"), fam.spec("c")], Strategy.REST_FOR_ONE)
    )
    mark = len(fam.journal)
    fam.fail_next["b"] = 2
    fam.latest["b"].crash()
    await wait_for(lambda: fam.starts("c") == 2)
    assert fam.events_since(mark) == [
        ("stop", "b"), ("stop", "c"),
        ("start", "b"), ("start", "b"),  # two failed starts: c waits for both
        ("start", "b"),
        ("start", "c"),
    ]  # fmt: skip
    await wait_for(lambda: [c.state for c in sup.status().children] == ["running"] * 3)
    assert fam.starts("a") == 1


async def test_children_start_in_order_and_stop_in_reverse(running: Running) -> None:
    fam = Family()
    sup, task = await running(supervisor("s", [fam.spec("a"), fam.spec("b"), fam.spec("c")]))
    sup.request_stop()
    await task
    assert fam.journal == [
        ("start", "a"), ("start", "b"), ("start", "c"),
        ("stop", "c"), ("stop", "b"), ("stop", "a"),
    ]  # fmt: skip
    assert sup.state == "stopped"
