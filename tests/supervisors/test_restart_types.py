"""permanent / transient / temporary children."""

from __future__ import annotations

import asyncio

from supervisors.child import Restart
from tests.supervisors.fakes import Family, Running, supervisor, wait_for


async def test_a_permanent_child_is_restarted_even_after_a_normal_exit(running: Running) -> None:
    fam = Family()
    await running(supervisor("s", [fam.spec("p", Restart.PERMANENT)]))
    fam.latest["p"].finish()
    await wait_for(lambda: fam.starts("p") == 2)


async def test_a_transient_child_is_restarted_only_after_an_abnormal_exit(running: Running) -> None:
    fam = Family()
    sup, _ = await running(supervisor("s", [fam.spec("t", Restart.TRANSIENT)]))
    fam.latest["t"].crash()
    await wait_for(lambda: fam.starts("t") == 2)
    fam.latest["t"].finish()
    await asyncio.sleep(0.1)
    assert fam.starts("t") == 2
    assert sup.status().children[0].state == "stopped"


class _Misconfigured(RuntimeError):
    retriable = False


async def test_a_transient_child_that_gives_up_with_a_non_retriable_error_stays_down(
    running: Running,
) -> None:
    fam = Family()
    sup, _ = await running(supervisor("s", [fam.spec("t", Restart.TRANSIENT), fam.spec("y")]))
    fam.latest["t"].crash(_Misconfigured("topic settings refused: fix the overlay"))
    await wait_for(lambda: sup.status().children[0].state == "failed")
    await asyncio.sleep(0.1)
    assert fam.starts("t") == 1
    assert "fix the overlay" in str(sup.status().children[0].last_error)
    assert sup.status().children[1].state == "running"


async def test_a_permanent_child_is_restarted_even_after_a_non_retriable_error(
    running: Running,
) -> None:
    fam = Family()
    await running(supervisor("s", [fam.spec("p", Restart.PERMANENT)]))
    fam.latest["p"].crash(_Misconfigured("refused"))
    await wait_for(lambda: fam.starts("p") == 2)


async def test_a_temporary_child_is_never_restarted(running: Running) -> None:
    fam = Family()
    sup, _ = await running(supervisor("s", [fam.spec("x", Restart.TEMPORARY), fam.spec("y")]))
    fam.latest["x"].crash()
    await asyncio.sleep(0.1)
    assert fam.starts("x") == 1
    child = sup.status().children[0]
    assert child.state == "failed"
    assert "x crashed" in str(child.last_error)
    assert child.last_error_at is not None
