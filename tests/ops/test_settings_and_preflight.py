"""Settings from the environment, the compatibility check and production's secret rules."""

from __future__ import annotations

import pytest

from ops.errors import CompatibilityError
from ops.preflight import check_compatibility, check_secrets
from ops.settings import load_settings
from schemas.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for var in ("NATS_URL", "REDIS_URL", "DATABASE_URL", "ALPHA_PANDA_ENV", "ALPHA_PANDA_BROKERS",
                "ALPHA_PANDA_API_TOKEN", "KITE_API_KEY", "KITE_API_SECRET", "ALPHA_PANDA_WEB_ADDR"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_run_the_paper_broker_on_embedded_services() -> None:
    s = load_settings()
    assert s.brokers == ("paper",)
    assert s.nats_url is None and s.redis_url is None and s.env == "dev"


def test_a_bad_setting_names_the_variable_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHA_PANDA_BROKERS", "paper,kraken")
    with pytest.raises(ConfigError, match="ALPHA_PANDA_BROKERS: .*unknown broker 'kraken'"):
        load_settings()
    monkeypatch.setenv("ALPHA_PANDA_BROKERS", "paper")
    monkeypatch.setenv("ALPHA_PANDA_WEB_ADDR", "localhost")
    with pytest.raises(ConfigError, match="ALPHA_PANDA_WEB_ADDR: .*HOST:PORT"):
        load_settings()


def test_secrets_are_masked_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHA_PANDA_API_TOKEN", "super-secret-token-value")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:hunter2@db/x")
    text = repr(load_settings()) + str(load_settings())
    assert "super-secret-token-value" not in text and "hunter2" not in text


def test_production_refuses_empty_or_default_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHA_PANDA_ENV", "production")
    monkeypatch.setenv("ALPHA_PANDA_BROKERS", "paper,zerodha")
    monkeypatch.setenv("ALPHA_PANDA_API_TOKEN", "changeme")
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres:postgres@db/alpha")
    with pytest.raises(ConfigError) as err:
        check_secrets(load_settings())
    text = str(err.value)
    for name in ("ALPHA_PANDA_API_TOKEN", "KITE_API_KEY", "KITE_API_SECRET", "DATABASE_URL"):
        assert name in text
    assert "postgres:postgres" not in text


def test_production_starts_with_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHA_PANDA_ENV", "production")
    monkeypatch.setenv("ALPHA_PANDA_API_TOKEN", "x9Jk2mQ7vR4tL8wP3nB6")
    monkeypatch.setenv("DATABASE_URL", "postgresql://alpha:Zq8vN3kL0pW2@db/alpha")
    check_secrets(load_settings())


def test_dev_accepts_defaults() -> None:
    check_secrets(load_settings())


def test_an_old_library_on_a_new_python_is_refused_with_the_upgrade_command() -> None:
    with pytest.raises(CompatibilityError, match=r"aiokafka 0.10.0 does not work on Python 3.13: "
                       r"pip install 'aiokafka>=0.12'"):  # fmt: skip
        check_compatibility((3, 13), {"nats-py": "2.10.0", "aiokafka": "0.10.0"})
    with pytest.raises(CompatibilityError, match="needs Python 3.11"):
        check_compatibility((3, 10), {})
    with pytest.raises(CompatibilityError, match="nats-py is not installed"):
        check_compatibility((3, 11), {"aiokafka": "0.12.0"})
    check_compatibility()  # this environment is fine


def test_an_old_or_jetstream_less_nats_server_is_refused_with_the_fix() -> None:
    from ops.preflight import check_nats_server

    with pytest.raises(CompatibilityError, match="nats-server 2.9.10 is too old.*unset NATS_URL"):
        check_nats_server("2.9.10")
    with pytest.raises(CompatibilityError, match="JetStream disabled: start it with -js"):
        check_nats_server("2.11.0", jetstream=False)
    check_nats_server("2.15.1")


def test_a_lease_ttl_outside_its_range_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().lease_ttl_s == 10.0
    monkeypatch.setenv("ALPHA_PANDA_LEASE_TTL_S", "0.2")
    with pytest.raises(ConfigError, match="ALPHA_PANDA_LEASE_TTL_S: .*between 1 and 300"):
        load_settings()
