"""`TreeCollector`: the figures the actors already keep, read at scrape time.

The status tree (`alpha.status`) holds each actor's mailbox depth, consumer pending and
state, and each per-broker actor's `pipeline` figures (signals, rejections by reason,
orders, fills, PnL). Reading them when Prometheus scrapes costs nothing on the hot path and
cannot disagree with `alpha-panda status`. The table below says which figure becomes which
metric; the keys are those of the actors' `stats()`, the only contract with the domain.

A figure of a restarted actor starts again from its rebuilt state: counters here may go
down across a restart, which `rate()` treats as a counter reset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from supervisors.status import StatusNode

__all__ = ["PER_BROKER", "PER_ACTOR", "PIPELINE", "Figure", "TreeCollector"]


@dataclass(frozen=True, slots=True)
class Figure:
    """One `pipeline` figure of a per-broker actor and the metric it becomes."""

    key: str
    metric: str  # counters without `_total`: the family adds it
    doc: str
    counter: bool = False


#: per-broker pipeline figures, by the key an actor's `stats()["pipeline"]` uses
PIPELINE: Final = (
    Figure("ticks", "alpha_broker_ticks", "Ticks the broker's strategies handled", True),
    Figure("signals", "alpha_broker_signals", "Signals the strategies emitted", True),
    Figure("strategy_errors", "alpha_broker_strategy_errors", "Strategy exceptions", True),
    Figure("validated", "alpha_broker_validated", "Signals risk approved", True),
    Figure("rejected", "alpha_broker_rejected", "Signals risk rejected", True),
    Figure("orders", "alpha_broker_orders", "Orders submitted to the venue", True),
    Figure("fills", "alpha_broker_fills", "Fills from the venue", True),
    Figure("orders_failed", "alpha_broker_orders_failed", "Orders the venue refused", True),
    Figure("orders_cancelled", "alpha_broker_orders_cancelled", "Orders cancelled", True),
    Figure("open_orders", "alpha_broker_open_orders", "Orders risk counts as open"),
    Figure("resting_orders", "alpha_broker_resting_orders", "Limit orders resting at the venue"),
    Figure("open_positions", "alpha_broker_open_positions", "Instruments with a position"),
    Figure("realized_pnl", "alpha_broker_realized_pnl_rupees", "Realized PnL, rupees"),
    Figure("unrealized_pnl", "alpha_broker_unrealized_pnl_rupees", "Unrealized PnL, rupees"),
    Figure("charges", "alpha_broker_charges_rupees", "Charges paid, rupees"),
    Figure("equity", "alpha_broker_equity_rupees", "Cash plus marked positions, rupees"),
    Figure("daily_pnl", "alpha_broker_risk_daily_pnl_rupees", "PnL the daily loss limit sees"),
)
_REJECTIONS: Final = "alpha_broker_rejections"
_TRADING_STATE: Final = "alpha_broker_trading_state"
_STRATEGY: Final = (
    Figure("realized_pnl", "alpha_strategy_realized_pnl_rupees", "Realized PnL per strategy"),
    Figure("unrealized_pnl", "alpha_strategy_unrealized_pnl_rupees", "Unrealized PnL per strategy"),
    Figure("charges", "alpha_strategy_charges_rupees", "Charges per strategy, rupees"),
    Figure("fills", "alpha_strategy_fills", "Fills per strategy", True),
)

#: every metric (family name) that is per broker: each sample must carry a non-empty `broker`
PER_BROKER: Final = frozenset(
    {f.metric for f in PIPELINE} | {f.metric for f in _STRATEGY} | {_REJECTIONS, _TRADING_STATE}
)
#: per-actor families: `actor` and `broker` labels (`broker` empty for a shared actor)
PER_ACTOR: Final = frozenset(
    {
        "alpha_actor_messages",
        "alpha_actor_outputs",
        "alpha_actor_handler_failures",
        "alpha_actor_dead_letters",
        "alpha_actor_handling_seconds",
        "alpha_actor_mailbox_depth",
        "alpha_actor_consumer_pending",
        "alpha_actor_running",
    }
)


def _number(value: Any) -> float | None:
    """A figure as a float (money arrives as a Decimal string); None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(Decimal(value))
        except InvalidOperation:
            return None
    return None


class TreeCollector(Collector):
    """Metrics from the live supervision tree `status()` returns, at each scrape."""

    def __init__(self, status: Callable[[], StatusNode]) -> None:
        self._status = status

    def describe(self) -> list[Metric]:
        return []  # families are known only at scrape time: never checked at registration

    def collect(self) -> Iterator[Metric]:
        actor_labels = ["actor", "broker"]
        mailbox = GaugeMetricFamily(
            "alpha_actor_mailbox_depth",
            "Inputs waiting in the actor's mailbox",
            labels=actor_labels,
        )
        pending = GaugeMetricFamily(
            "alpha_actor_consumer_pending",
            "Messages its consumer has yet to deliver (last seen)", labels=actor_labels,
        )  # fmt: skip
        running = GaugeMetricFamily(
            "alpha_actor_running", "1 while the actor runs, 0 otherwise", labels=actor_labels
        )
        figures = {
            f.metric: (CounterMetricFamily if f.counter else GaugeMetricFamily)(
                f.metric, f.doc, labels=["broker"]
            )
            for f in PIPELINE
        }
        strategy = {
            f.metric: (CounterMetricFamily if f.counter else GaugeMetricFamily)(
                f.metric, f.doc, labels=["broker", "strategy"]
            )
            for f in _STRATEGY
        }
        rejections = CounterMetricFamily(
            _REJECTIONS, "Signals risk rejected, by reason", labels=["broker", "reason"]
        )
        state = GaugeMetricFamily(
            _TRADING_STATE, "1 for the broker's trading state (ACTIVE, REDUCING, HALTED)",
            labels=["broker", "state"],
        )  # fmt: skip
        for node in _leaves(self._status()):
            broker = node.broker or ""
            if node.kind == "actor":
                labels = [node.name, broker]
                mailbox.add_metric(labels, _number(node.figures.get("mailbox_depth")) or 0.0)
                pending.add_metric(labels, _number(node.figures.get("consumer_pending")) or 0.0)
                running.add_metric(labels, 1.0 if node.state == "running" else 0.0)
            pipeline = node.figures.get("pipeline")
            if not broker or not isinstance(pipeline, dict):
                continue  # the shared feed's figures: alpha_actor_* of market-feed
            for f in PIPELINE:
                value = _number(pipeline.get(f.key))
                if value is not None:
                    figures[f.metric].add_metric([broker], value)
            for reason, count in (pipeline.get("rejections") or {}).items():
                rejections.add_metric([broker, str(reason)], float(count))
            if isinstance(pipeline.get("trading_state"), str):
                state.add_metric([broker, pipeline["trading_state"]], 1.0)
            for sid, per in (pipeline.get("strategies") or {}).items():
                for f in _STRATEGY:
                    value = _number(per.get(f.key)) if isinstance(per, dict) else None
                    if value is not None:
                        strategy[f.metric].add_metric([broker, str(sid)], value)
        yield mailbox
        yield pending
        yield running
        yield from figures.values()
        yield from strategy.values()
        yield rejections
        yield state


def _leaves(node: StatusNode) -> Iterator[StatusNode]:
    if node.is_supervisor:
        for child in node.children:
            yield from _leaves(child)
    else:
        yield node
