"""What the web app is built from: where its figures come from and what it may check.

Held once in `app.state.web`; the routes read it, nothing else configures them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from web.backend import Backend

__all__ = ["WebContext", "ReadyCheck"]

#: one pre-flight check: (name, ok, detail or remedy)
ReadyCheck = Callable[[], Awaitable[tuple[str, bool, str]]]


@dataclass(frozen=True)
class WebContext:
    backend: Backend
    #: the running system's API token (None: control actions are refused)
    api_token: str | None
    #: the configured strategies as rows (id, type, instruments, brokers, enabled, params)
    strategies: Sequence[dict[str, Any]] = ()
    env: str = "dev"
    #: extra readiness checks (stores, Kafka, Zerodha session) beyond NATS and the streams
    ready_checks: Sequence[ReadyCheck] = field(default_factory=tuple)
    #: every secret of the process: never shown on a page or in an answer
    secrets: Sequence[str] = ()

    @property
    def control_enabled(self) -> bool:
        return self.api_token is not None
