"""The environment compose.yaml gives the app: every name is one the app reads (a typo
fails here), every service's settings load and pass the production pre-flight, and the
ports agree with the settings' defaults."""

from __future__ import annotations

import pytest

from bridge.mirror.config import PRODUCER_ENV, STREAMS_ENV
from ops.preflight import check_secrets
from ops.settings import Settings, load_settings
from supervisors.telemetry.exposition import parse_addr
from supervisors.telemetry.tracing import TRACE_FILE_ENV
from tests.compose.stack import (
    app_services,
    env_example,
    environment,
    interpolate,
    role_services,
    services,
)

#: what the app reads from the environment besides the settings object: the bridge's
#: tuning, the span file, and the OpenTelemetry SDK's own variables
DIRECT = {PRODUCER_ENV, STREAMS_ENV, TRACE_FILE_ENV}
#: the variables of the test suite (tests/conftest.py)
SCRIPTS = {"TEST_DATABASE_URL", "SCHEMA_REGISTRY_URL"}
#: the strategy shard settings (issue 18, item 3), checked on their own below
SHARDS = {"ALPHA_PANDA_STRATEGY_SHARDS", "ALPHA_PANDA_STRATEGY_SHARD"}


def _aliases() -> set[str]:
    return {str(f.alias) for f in Settings.model_fields.values() if f.alias}


def _filled() -> dict[str, str]:
    """.env.example with every blank filled, as a user's .env would be."""
    return {k: v or f"{k.lower()}-0123456789abcdef" for k, v in env_example().items()}


def test_every_environment_name_of_an_app_service_is_one_the_app_reads() -> None:
    known = _aliases() | DIRECT
    for name, service in app_services().items():
        for key in environment(service):
            if name == "bus-auth" and key.startswith("NATS_PASSWORD_"):
                continue  # the nats-auth script's, one per user
            if name == "tests" and key in SCRIPTS:
                continue
            if key.startswith("OTEL_"):
                continue  # the OpenTelemetry SDK's (supervisors/telemetry/tracing.py)
            if key in SHARDS:
                continue  # test_the_strategy_shard_settings_are_settings_the_app_reads
            assert key in known, f"{name}: {key} is not a setting the app reads (a typo?)"


@pytest.mark.xfail(
    not SHARDS.issubset(_aliases()),
    reason="the strategy shard settings come with the sharding work of issue 18 (item 3)",
    strict=True,
)
def test_the_strategy_shard_settings_are_settings_the_app_reads() -> None:
    used = {k for s in role_services().values() for k in environment(s) if k in SHARDS}
    assert used == SHARDS
    assert SHARDS.issubset(_aliases()), sorted(SHARDS - _aliases())


@pytest.mark.parametrize("name", sorted(role_services()))
def test_each_role_services_settings_load_and_pass_the_production_preflight(
    name: str,
) -> None:
    env = {k: interpolate(v, _filled()) for k, v in environment(services()[name]).items()}
    settings_env = {k: v for k, v in env.items() if k in _aliases()}
    settings = load_settings(**settings_env)
    assert settings.env == "production"
    check_secrets(settings)  # raises on an empty or default secret
    assert settings.nats_url and settings.nats_url.count("nats://") == 3
    assert settings.metrics_addr is not None


def test_the_web_port_and_nats_port_are_the_settings_defaults() -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    web = services()["web"]
    _, web_port = defaults.web_host_port
    host, port = parse_addr(environment(web)["ALPHA_PANDA_WEB_ADDR"])
    assert (host, port) == ("0.0.0.0", web_port)  # every interface of its container
    assert f"127.0.0.1:{web_port}:{web_port}" in web["ports"]
    for node in ("nats-1", "nats-2", "nats-3"):
        published = [str(p).rsplit(":", 1)[1] for p in services()[node]["ports"]]
        assert published == [str(defaults.embedded_nats_port)], node
    assert services()["nats-1"]["ports"] == [f"127.0.0.1:{defaults.embedded_nats_port}:4222"]
    urls = environment(role_services()["control"])["NATS_URL"].split(",")
    assert urls == [f"nats://nats-{n}:{defaults.embedded_nats_port}" for n in (1, 2, 3)]
