"""The supervision tree, as data (STYLE 4): which actors run, under which supervisor.

root (one_for_one)
├── system       control gate
├── market       market feed                      role: feed
└── broker:<b>   one subtree per active broker    roles: strategies, risk, execution, portfolio
                 gives up → control.halt.<b>, then escalates to the root
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from actors.control.gate import ControlGate
from ops.settings import Settings
from schemas.envelope import new_envelope
from schemas.events import ControlCommand
from schemas.names import Broker, ControlVerb, control_subject
from supervisors.actor import Actor
from supervisors.backoff import Backoff
from supervisors.bus import Bus
from supervisors.child import ChildSpec
from supervisors.runner import ActorProcess
from supervisors.supervisor import Strategy, SupervisorSpec

__all__ = ["ROLES", "build_tree", "actor_spec", "halt_on_give_up"]

log = logging.getLogger(__name__)

ROLES: tuple[str, ...] = ("control",)


def actor_spec(
    bus: Bus, make: Callable[[], Actor], name: str, shutdown_s: float = 5.0
) -> ChildSpec:
    """A child spec whose start function builds a fresh actor instance each time."""
    return ChildSpec(name=name, start=lambda: ActorProcess(make(), bus), shutdown_s=shutdown_s)


def halt_on_give_up(bus: Bus, broker: Broker) -> Callable[[str], object]:
    async def publish_halt(reason: str) -> None:
        env = new_envelope(
            ControlCommand(verb=ControlVerb.HALT, broker=broker, reason=reason,
                           requested_by=f"supervisor:broker:{broker}"),
            source=f"supervisor:broker:{broker}",
            broker=broker,
            key=broker,
        )  # fmt: skip
        await bus.publish(control_subject(ControlVerb.HALT, broker), env)
        log.error("broker %s halted: %s", broker, reason)

    return publish_halt


def build_tree(bus: Bus, settings: Settings, roles: tuple[str, ...]) -> SupervisorSpec:
    token = settings.api_token.get_secret_value() if settings.api_token else None
    children: list[ChildSpec] = []
    if "control" in roles:
        system = SupervisorSpec(
            name="system",
            children=[actor_spec(bus, lambda: ControlGate(token), "control-gate")],
        )
        children.append(system.as_child())
    return SupervisorSpec(
        name="root",
        children=children,
        strategy=Strategy.ONE_FOR_ONE,
        max_restarts=5,
        period_s=60.0,
        backoff=Backoff(min_s=0.5, max_s=10.0, jitter=0.2),
    )
