"""The status tree: typed nodes inside, the same JSON objects `alpha.status` always sent."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from supervisors.child import ChildSpec, Ready
from supervisors.launcher import pipeline_figures
from supervisors.status import StatusNode
from supervisors.supervisor import Supervisor
from tests.supervisors.fakes import Family, supervisor, wait_for


class _Figures:
    """A leaf child that reports figures, some of them named like the slot's own facts."""

    name = "leaf"

    def __init__(self) -> None:
        self._stop = asyncio.Event()

    async def run(self, ready: Ready) -> None:
        ready()
        await self._stop.wait()

    def request_stop(self) -> None:
        self._stop.set()

    def status(self) -> dict[str, Any]:
        return {"kind": "actor", "broker": "paper", "processed": 7, "state": "mine",
                "last_error": "mine", "pipeline": {"ticks": 3}}  # fmt: skip


async def test_a_subtree_encodes_to_the_json_objects_of_the_status_reply(running: Any) -> None:
    inner = supervisor("inner", [ChildSpec(name="leaf", start=_Figures)], broker="paper")
    spec = supervisor("root", [ChildSpec(name="inner", start=lambda: Supervisor(inner),
                                         is_supervisor=True)])  # fmt: skip
    root, _ = await running(spec)
    tree = json.loads(json.dumps(root.status().to_builtins()))
    assert set(tree) == {"name", "kind", "strategy", "state", "broker", "restarts",
                         "max_restarts", "period_s", "children"}  # fmt: skip
    assert (tree["name"], tree["kind"], tree["state"]) == ("root", "supervisor", "running")
    [sub] = tree["children"]
    assert (sub["name"], sub["kind"], sub["broker"], sub["restart"]) == (
        "inner",
        "supervisor",
        "paper",
        "permanent",
    )
    [leaf] = sub["children"]
    assert (leaf["state"], leaf["last_error"]) == ("running", None)  # the slot's facts win
    assert (leaf["processed"], leaf["pipeline"], leaf["broker"]) == (7, {"ticks": 3}, "paper")
    assert pipeline_figures(root.status()) == {"paper": {"ticks": 3}}


async def test_a_leaf_childs_figures_are_inline_and_give_way_to_the_slots_facts(
    running: Any,
) -> None:
    fam = Family()
    sup, _ = await running(supervisor("s", [fam.spec("a")]))
    fam.latest["a"].crash()
    await wait_for(lambda: fam.starts("a") == 2)
    node = sup.status().children[0]
    assert (node.name, node.kind, node.restarts, node.restart) == ("a", "fake", 1, "permanent")
    obj = node.to_builtins()
    assert set(obj) == {"name", "kind", "broker", "state", "restart", "restarts", "last_error",
                        "last_error_at"}  # fmt: skip
    assert "a crashed" in obj["last_error"]


def test_a_reply_reads_back_into_nodes_with_the_figures_kept_apart() -> None:
    leaf = StatusNode(name="risk-paper", broker="paper", state="running", restart="permanent",
                      figures={"processed": 7, "pipeline": {"validated": 2}})  # fmt: skip
    root = StatusNode(name="root", kind="supervisor", state="running", strategy="one_for_one",
                      max_restarts=3, period_s=5.0, children=[leaf])  # fmt: skip
    back = StatusNode.from_builtins(json.loads(json.dumps(root.to_builtins())))
    assert back == root
    assert back.children[0].figures["pipeline"] == {"validated": 2}
