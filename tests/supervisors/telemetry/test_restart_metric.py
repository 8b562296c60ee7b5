"""Restarts are counted in `alpha_supervisor_restarts_total`, with the supervisor's broker."""

from __future__ import annotations

from prometheus_client import REGISTRY

from tests.conftest import unique
from tests.supervisors.fakes import Family, Running, supervisor, wait_for


def restarts(sup: str, child: str, broker: str) -> float:
    labels = {"supervisor": sup, "child": child, "broker": broker}
    return REGISTRY.get_sample_value("alpha_supervisor_restarts_total", labels) or 0.0


async def test_each_restart_of_a_child_is_counted_with_its_broker(running: Running) -> None:
    fam, name = Family(), unique("broker:paper")
    await running(supervisor(name, [fam.spec("risk-paper"), fam.spec("other")], broker="paper"))
    fam.latest["risk-paper"].crash()
    await wait_for(lambda: fam.starts("risk-paper") == 2)
    fam.latest["risk-paper"].crash()
    await wait_for(lambda: fam.starts("risk-paper") == 3)
    await wait_for(lambda: restarts(name, "risk-paper", "paper") == 2, timeout=10)
    assert restarts(name, "other", "paper") == 0
