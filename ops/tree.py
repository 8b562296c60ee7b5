"""The supervision tree, as data (STYLE 4): which actors run, under which supervisor.

root (one_for_one)
├── bridge        JetStream → Kafka mirror, when KAFKA_BOOTSTRAP_SERVERS is set      role: bridge
├── system        control gate; drift monitor (paper beside zerodha)  role: control
├── broker:<b>    per active broker, one_for_one, started in     roles: portfolio,
│   │             reverse data order so consumers are ready      execution, risk,
│   │             before producers. Gives up → control.halt.<b>, strategies
│   │             then escalates to the root.
│   ├── owner:<b> lease gate: portfolio, execution, risk run only while this process
│   │             holds the broker's lease (alpha_leases, key broker-<b>); a standby else
│   │             (execution: the broker's venue, from ops.venues.VENUES)
│   └── strategies-<b>
├── market        market feed (mock, replay or Kite's ticker),   role: feed
│                 after every consumer of ticks; in a child process of its own
│                 with ALPHA_PANDA_FEED_PROCESS=1 (ops.feed_process)
└── web           status pages and API (Starlette under uvicorn),   role: web
                  started last, stopped first; ALPHA_PANDA_WEB_ADDR
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from actors.control.gate import ControlGate
from actors.drift.actor import DriftMonitor
from actors.portfolio.actor import PortfolioActor
from actors.risk.actor import RiskManager
from actors.stores.shared import Stores
from actors.strategies.config import allowed_instruments
from actors.strategies.runner import StrategyRunner
from bridge.mirror.child import bridge_child_spec
from ops.config_loading import DomainConfig
from ops.feed_process import feed_actor_maker, feed_process_spec
from ops.overlays import overlay_for
from ops.settings import Settings
from ops.venues import VENUES, ExecutionFactory
from schemas.envelope import new_envelope
from schemas.events import ControlCommand
from schemas.names import LEASE_BUCKET, Broker, ControlVerb, control_subject, lease_key
from supervisors.actor import Actor
from supervisors.backoff import Backoff
from supervisors.bus import Bus
from supervisors.child import ChildSpec
from supervisors.lease import Lease, process_owner_id
from supervisors.lease_gate import LeaseGate
from supervisors.runner import actor_spec
from supervisors.supervisor import Strategy, SupervisorSpec
from web.child import web_child_spec

__all__ = [
    "ROLES",
    "BROKER_ROLES",
    "LEASED_ROLES",
    "build_tree",
    "halt_on_give_up",
]

log = logging.getLogger(__name__)

BROKER_ROLES: tuple[str, ...] = ("portfolio", "execution", "risk", "strategies")
ROLES: tuple[str, ...] = ("bridge", "control", "feed", *BROKER_ROLES, "web")
#: the stateful roles of a broker: one process at a time runs them, holding its lease
LEASED_ROLES: tuple[str, ...] = ("portfolio", "execution", "risk")


def halt_on_give_up(bus: Bus, broker: Broker) -> Callable[[str], Awaitable[None]]:
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


def _broker_subtree(
    bus: Bus, broker: Broker, roles: tuple[str, ...], settings: Settings, config: DomainConfig,
    stores: Stores, owner: str, execution: ExecutionFactory,
) -> SupervisorSpec:  # fmt: skip
    # the strategies the runner of this broker runs are the only ones risk lets trade
    allowed = allowed_instruments(config.strategies, broker)
    makers: dict[str, Callable[[], Actor]] = {
        "portfolio": lambda: PortfolioActor(
            broker, stores, starting_cash=settings.starting_cash,
            pnl_interval_s=settings.pnl_interval_s,
        ),
        "execution": lambda: execution(
            broker, config, stores.metrics, frozenset().union(*allowed.values())
        ),
        "risk": lambda: RiskManager(broker, config.risk_limits, stores, strategies=allowed),
        "strategies": lambda: StrategyRunner(
            broker, config.strategies, config.book, stores.metrics
        ),
    }  # fmt: skip
    backoff = Backoff(min_s=0.2, max_s=5.0, jitter=0.2)
    children: list[ChildSpec] = []
    leased = [role for role in LEASED_ROLES if role in roles]
    if leased:
        if len(leased) < len(LEASED_ROLES):
            log.warning("this process runs %s of broker %s and takes the broker's lease: a "
                        "process running its other stateful roles (%s) will only stand by; "
                        "run them together", ", ".join(leased), broker,
                        ", ".join(r for r in LEASED_ROLES if r not in leased))  # fmt: skip
        lease = Lease(lease_key(broker), owner, settings.lease_ttl_s, bucket=LEASE_BUCKET,
                      replicas=overlay_for(settings.env).replicas)  # fmt: skip
        owned = SupervisorSpec(
            name=f"owner:{broker}",
            children=[actor_spec(bus, makers[r], f"{r}-{broker}", guard=lease.held)
                      for r in leased],
            strategy=Strategy.ONE_FOR_ONE, max_restarts=10, period_s=60.0, backoff=backoff,
            broker=broker, on_give_up=halt_on_give_up(bus, broker),
        )  # fmt: skip
        gate = owned.as_child()
        children.append(
            ChildSpec(name=gate.name, start=lambda: LeaseGate(owned, lease, bus.js),
                      shutdown_s=gate.shutdown_s, start_timeout_s=gate.start_timeout_s,
                      is_supervisor=True)
        )  # fmt: skip
    if broker == "zerodha" and "execution" in roles:  # halts zerodha before 06:00 IST
        from actors.kite.session_watch import SessionWatch

        children.insert(0, actor_spec(bus, lambda: SessionWatch(settings), "session-watch-zerodha"))
    if "strategies" in roles:
        children.append(actor_spec(bus, makers["strategies"], f"strategies-{broker}"))
    return SupervisorSpec(
        name=f"broker:{broker}",
        children=children,
        strategy=Strategy.ONE_FOR_ONE,
        max_restarts=10,
        period_s=60.0,
        backoff=backoff,
        broker=broker,
        on_give_up=halt_on_give_up(bus, broker),
    )


def _feed_tokens(settings: Settings, config: DomainConfig) -> list[int]:
    """What Kite's ticker subscribes to: what the strategies trade (on any active broker; the
    whole book when no strategy is enabled). Nothing for the mock and replay feeds."""
    if config.feed.mode != "kite":
        return []
    from actors.kite.feed_config import plan_shards

    wanted: set[int] = set()
    for broker in settings.brokers:
        wanted.update(*allowed_instruments(config.strategies, broker).values())
    tokens = sorted(wanted or {i.instrument_token for i in config.book})
    plan_shards(tokens, config.feed.kite.max_per_connection)  # too many: fail before the tree
    return tokens


def _feed_maker(settings: Settings, config: DomainConfig) -> Callable[[], Actor]:
    """The mock/replay feed, or Kite's ticker, in this process."""
    return feed_actor_maker(settings, config.feed, config.book, _feed_tokens(settings, config))


def _feed_child(bus: Bus, settings: Settings, config: DomainConfig) -> ChildSpec:
    """The feed in this process, or in a child process of its own with
    ALPHA_PANDA_FEED_PROCESS (`ops.feed_process`)."""
    if settings.feed_process:
        tokens = _feed_tokens(settings, config)
        return feed_process_spec(bus, settings, config.feed, config.book, tokens)
    return actor_spec(bus, _feed_maker(settings, config), "market-feed")


def build_tree(
    bus: Bus,
    settings: Settings,
    roles: tuple[str, ...],
    config: DomainConfig,
    stores: Stores,
    *,
    owner: str | None = None,
) -> SupervisorSpec:
    """The root spec; `owner` names this process in the broker leases it takes."""
    owner = owner or process_owner_id()
    token = settings.api_token.get_secret_value() if settings.api_token else None
    children: list[ChildSpec] = []
    bridge = bridge_child_spec(bus, settings) if "bridge" in roles else None
    if bridge is not None:  # first: started before and stopped after everything it mirrors
        children.append(bridge)
    if "control" in roles:
        system_children = [actor_spec(bus, lambda: ControlGate(token, brokers=settings.brokers),
                                       "control-gate")]  # fmt: skip
        traded = [b for b in settings.brokers if b in VENUES]
        if "paper" in traded and "zerodha" in traded:
            # the paper model measured against live fills of the same signals
            both = frozenset(allowed_instruments(config.strategies, "paper")) & frozenset(
                allowed_instruments(config.strategies, "zerodha")
            )
            system_children.append(
                actor_spec(bus, lambda: DriftMonitor(strategies=both), "drift-monitor")
            )
        system = SupervisorSpec(name="system", children=system_children)
        children.append(system.as_child())
    for broker in settings.brokers:
        execution = VENUES.get(broker)
        if execution is None:
            log.warning("broker %s has no venue in this build; skipping it", broker)
            continue
        if any(role in roles for role in BROKER_ROLES):
            subtree = _broker_subtree(
                bus, broker, roles, settings, config, stores, owner, execution
            )
            children.append(subtree.as_child())
    if "feed" in roles:  # last: every consumer of ticks is bound before the first tick
        market = SupervisorSpec(name="market", children=[_feed_child(bus, settings, config)])
        children.append(market.as_child())
    if "web" in roles:  # last: started when there is something to show, stopped first
        children.append(web_child_spec(bus, settings, config, stores))
    return SupervisorSpec(
        name="root",
        children=children,
        strategy=Strategy.ONE_FOR_ONE,
        max_restarts=5,
        period_s=60.0,
        backoff=Backoff(min_s=0.5, max_s=10.0, jitter=0.2),
    )
