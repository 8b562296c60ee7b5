"""Which venue executes each broker's orders: the registry the tree builds subtrees from.

A broker trades when it has an entry here: a factory that builds its execution actor (the
execution shell, `actors.execution.actor`) on that broker's venue from the configuration.
`paper` executes on the paper venue, `zerodha` on Kite (`actors.kite.venue`) with the
session of `actors.kite.session` (`alpha-panda up` checks it before the tree starts).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Final

from actors.execution.actor import ExecutionActor
from actors.paper.actor import PaperExecution
from actors.paper.matching import PaperBroker
from actors.stores.pipeline_metrics import PipelineMetrics
from ops.config_loading import DomainConfig
from ops.settings import load_settings
from schemas.names import Broker

__all__ = ["ExecutionFactory", "VENUES", "paper_execution", "zerodha_execution"]

#: (broker, configuration, metrics, traded tokens) -> that broker's execution actor
ExecutionFactory = Callable[
    [Broker, DomainConfig, PipelineMetrics | None, Collection[int]], ExecutionActor
]


def paper_execution(
    broker: Broker, config: DomainConfig, metrics: PipelineMetrics | None, tokens: Collection[int]
) -> ExecutionActor:
    """Execution on the paper venue, with the configured fill model and charges."""
    return PaperExecution(broker, PaperBroker(config.paper), metrics=metrics, tokens=tokens)


def zerodha_execution(
    broker: Broker, config: DomainConfig, metrics: PipelineMetrics | None, tokens: Collection[int]
) -> ExecutionActor:
    """Execution on Kite with the official client, one order limiter per account (API key).
    Imported here: the official client pulls in Twisted, which no other command needs."""
    from actors.kite.execution import KiteExecution
    from actors.kite.session import kite_client, load_session
    from actors.kite.venue import KiteVenue, KiteVenueConfig

    session = load_session(load_settings())
    venue_config = KiteVenueConfig(
        max_signal_tick_age_ms=config.paper.max_signal_tick_age_ms, product=config.paper.product
    )
    kite = kite_client(session, timeout_s=venue_config.timeout_s)
    venue = KiteVenue(kite, config.book, account=session.api_key, config=venue_config)
    return KiteExecution(broker, venue, metrics=metrics, tokens=tokens)


VENUES: Final[dict[str, ExecutionFactory]] = {
    "paper": paper_execution,
    "zerodha": zerodha_execution,
}
