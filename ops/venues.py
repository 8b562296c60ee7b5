"""Which venue executes each broker's orders: the registry the tree builds subtrees from.

A broker trades when it has an entry here: a factory that builds its execution actor (the
execution shell, `actors.execution.actor`) on that broker's venue from the configuration.
`paper` executes on the paper venue; `zerodha` joins when its venue (Kite) does.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Final

from actors.execution.actor import ExecutionActor
from actors.paper.actor import PaperExecution
from actors.paper.matching import PaperBroker
from actors.stores.pipeline_metrics import PipelineMetrics
from ops.config_loading import DomainConfig
from schemas.names import Broker

__all__ = ["ExecutionFactory", "VENUES", "paper_execution"]

#: (broker, configuration, metrics, traded tokens) -> that broker's execution actor
ExecutionFactory = Callable[
    [Broker, DomainConfig, PipelineMetrics | None, Collection[int]], ExecutionActor
]


def paper_execution(
    broker: Broker, config: DomainConfig, metrics: PipelineMetrics | None, tokens: Collection[int]
) -> ExecutionActor:
    """Execution on the paper venue, with the configured fill model and charges."""
    return PaperExecution(broker, PaperBroker(config.paper), metrics=metrics, tokens=tokens)


VENUES: Final[dict[str, ExecutionFactory]] = {"paper": paper_execution}
