"""The web role's child spec for the supervision tree (what `alpha-panda up` adds)."""

from __future__ import annotations

from typing import Any

from actors.stores.shared import Stores
from ops.config_loading import DomainConfig
from ops.settings import Settings
from supervisors.bus import Bus
from supervisors.child import ChildSpec, Restart
from web.app import create_app
from web.backend import NatsBackend
from web.context import WebContext
from web.process import WebServer
from web.readiness import ready_checks

__all__ = ["web_child_spec", "web_context", "secrets_of"]


def secrets_of(settings: Settings) -> tuple[str, ...]:
    """Every secret value the settings hold, for the checks that none is ever shown."""
    values: list[str] = []
    for name in (
        "api_token",
        "kite_api_secret",
        "kite_access_token",
        "nats_password",
        "nats_token",
        "nats_nkey_seed",
        "redis_url",
        "database_url",
    ):
        secret: Any = getattr(settings, name, None)
        if secret is not None and secret.get_secret_value():
            values.append(secret.get_secret_value())
    return tuple(values)


def web_context(
    bus: Bus, settings: Settings, config: DomainConfig, stores: Stores | None
) -> WebContext:
    token = settings.api_token.get_secret_value() if settings.api_token else None
    return WebContext(
        backend=NatsBackend(bus),
        api_token=token or None,
        strategies=tuple(c.to_row() for c in config.strategies),
        env=settings.env,
        ready_checks=tuple(ready_checks(settings, stores.read_models if stores else None)),
        secrets=secrets_of(settings),
    )


def web_child_spec(
    bus: Bus, settings: Settings, config: DomainConfig, stores: Stores | None
) -> ChildSpec:
    """Transient: restarted after a crash, not after a refusal such as its address in use
    (the error names ALPHA_PANDA_WEB_ADDR); trading goes on either way."""
    host, port = settings.web_host_port
    app = create_app(web_context(bus, settings, config, stores))
    return ChildSpec(
        name="web",
        start=lambda: WebServer(app, host, port),
        restart=Restart.TRANSIENT,
        shutdown_s=5.0,
    )
