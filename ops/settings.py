"""One settings object, read once at start from the environment and `.env` (STYLE 10)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.errors import ConfigError
from schemas.names import BROKERS, Broker, parse_broker
from supervisors.nats_urls import InvalidNatsUrl, join_servers, parse_servers

__all__ = ["Settings", "Env", "load_settings"]

Env = Literal["dev", "test", "production"]


class Settings(BaseSettings):
    """Environment variables of DESIGN.md; secrets are `SecretStr`, masked in every repr."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=True, populate_by_name=True
    )

    nats_url: str | None = Field(default=None, alias="NATS_URL")
    nats_creds: Path | None = Field(default=None, alias="NATS_CREDS")
    nats_user: str | None = Field(default=None, alias="NATS_USER")
    nats_password: SecretStr | None = Field(default=None, alias="NATS_PASSWORD")
    nats_nkey_seed: SecretStr | None = Field(default=None, alias="NATS_NKEY_SEED")
    nats_token: SecretStr | None = Field(default=None, alias="NATS_TOKEN")
    nats_tls_ca: Path | None = Field(default=None, alias="NATS_TLS_CA")
    nats_tls_cert: Path | None = Field(default=None, alias="NATS_TLS_CERT")
    nats_tls_key: Path | None = Field(default=None, alias="NATS_TLS_KEY")
    redis_url: SecretStr | None = Field(default=None, alias="REDIS_URL")
    database_url: SecretStr | None = Field(default=None, alias="DATABASE_URL")
    kafka_bootstrap_servers: str | None = Field(default=None, alias="KAFKA_BOOTSTRAP_SERVERS")
    schema_registry_url: str | None = Field(default=None, alias="SCHEMA_REGISTRY_URL")
    env: Env = Field(default="dev", alias="ALPHA_PANDA_ENV")
    brokers_csv: str = Field(default="paper", alias="ALPHA_PANDA_BROKERS")
    web_addr: str = Field(default="127.0.0.1:8000", alias="ALPHA_PANDA_WEB_ADDR")
    # Prometheus metrics on a port of their own (unset: only at the web role's /metrics)
    metrics_addr: str | None = Field(default=None, alias="ALPHA_PANDA_METRICS_ADDR")
    api_token: SecretStr | None = Field(default=None, alias="ALPHA_PANDA_API_TOKEN")
    data_dir: Path = Field(default=Path("var"), alias="ALPHA_PANDA_DATA_DIR")
    embedded_nats_port: int = Field(default=4222, alias="ALPHA_PANDA_NATS_PORT")
    strategies_file: Path = Field(default=Path("strategies.yaml"), alias="ALPHA_PANDA_STRATEGIES")
    seed: int = Field(default=42, alias="ALPHA_PANDA_SEED")
    log_level: str = Field(default="INFO", alias="ALPHA_PANDA_LOG_LEVEL")
    feed: str = Field(default="mock", alias="ALPHA_PANDA_FEED")
    kite_feed_json: str = Field(default="{}", alias="ALPHA_PANDA_KITE_FEED")
    feed_rate: float = Field(default=100.0, alias="ALPHA_PANDA_FEED_RATE")
    #: run the market feed in a child process of `up` (ops.feed_process), not in its loop
    feed_process: bool = Field(default=False, alias="ALPHA_PANDA_FEED_PROCESS")
    feed_max_ticks: int = Field(default=0, alias="ALPHA_PANDA_FEED_MAX_TICKS")
    replay_speed: float = Field(default=1.0, alias="ALPHA_PANDA_REPLAY_SPEED")
    starting_cash: Decimal = Field(default=Decimal("10000000"), alias="ALPHA_PANDA_STARTING_CASH")
    pnl_interval_s: float = Field(default=5.0, alias="ALPHA_PANDA_PNL_INTERVAL_S")
    lease_ttl_s: float = Field(default=10.0, alias="ALPHA_PANDA_LEASE_TTL_S")
    summary_interval_s: float = Field(default=10.0, alias="ALPHA_PANDA_SUMMARY_INTERVAL_S")
    risk_limits_json: str = Field(default="{}", alias="ALPHA_PANDA_RISK_LIMITS")
    paper_json: str = Field(default="{}", alias="ALPHA_PANDA_PAPER")
    kite_api_key: SecretStr | None = Field(default=None, alias="KITE_API_KEY")
    kite_api_secret: SecretStr | None = Field(default=None, alias="KITE_API_SECRET")
    kite_access_token: SecretStr | None = Field(default=None, alias="KITE_ACCESS_TOKEN")
    kite_root: str = Field(default="https://api.kite.trade", alias="KITE_ROOT")
    kite_ws_root: str = Field(default="wss://ws.kite.trade", alias="KITE_WS_ROOT")
    #: the session watcher halts zerodha this many minutes before the token's 06:00 expiry
    kite_halt_before_min: float = Field(
        default=5.0, ge=0, le=720, alias="ALPHA_PANDA_KITE_HALT_BEFORE_MIN"
    )
    #: an instrument master written by `alpha-panda zerodha instruments` (default: shipped)
    instruments_file: Path | None = Field(default=None, alias="ALPHA_PANDA_INSTRUMENTS")

    @field_validator("brokers_csv")
    @classmethod
    def _brokers_known(cls, value: str) -> str:
        names = [b.strip() for b in value.split(",") if b.strip()]
        if not names:
            raise ValueError(f"name at least one broker ({', '.join(BROKERS)})")
        for name in names:
            parse_broker(name)
        return ",".join(dict.fromkeys(names))

    @field_validator("nats_url")
    @classmethod
    def _nats_servers(cls, value: str | None) -> str | None:
        """One server or a cluster's comma-separated seed list, each entry checked."""
        if value is None or not value.strip():
            return None
        try:
            return join_servers(parse_servers(value))
        except InvalidNatsUrl as exc:
            raise ValueError(str(exc)) from None

    @field_validator("redis_url")
    @classmethod
    def _one_redis(cls, value: SecretStr | None) -> SecretStr | None:
        # redis-py connects to one server; a list would be read as one malformed host
        if value is not None and "," in value.get_secret_value():
            raise ValueError(
                "REDIS_URL names one Redis server (redis://[:PASSWORD@]HOST:PORT/DB); for "
                "high availability put the server behind Sentinel or a proxy and name that"
            )
        return value

    @field_validator("nats_creds", "nats_tls_ca", "nats_tls_cert", "nats_tls_key")
    @classmethod
    def _file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file {str(value)!r} does not exist")
        return value

    @model_validator(mode="after")
    def _nats_credentials_whole(self) -> Settings:
        if (self.nats_user is None) != (self.nats_password is None):
            raise ValueError("NATS_USER and NATS_PASSWORD go together: set both or neither")
        if self.nats_tls_key is not None and self.nats_tls_cert is None:
            raise ValueError("NATS_TLS_KEY needs NATS_TLS_CERT (the client certificate)")
        ways = [self.nats_creds, self.nats_user, self.nats_nkey_seed, self.nats_token]
        if sum(w is not None for w in ways) > 1:
            raise ValueError(
                "set one way to authenticate to NATS: NATS_CREDS, NATS_USER/NATS_PASSWORD, "
                "NATS_NKEY_SEED or NATS_TOKEN"
            )
        return self

    @field_validator("web_addr")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected HOST:PORT such as 127.0.0.1:8000, got {value!r}")
        return value

    @field_validator("metrics_addr")
    @classmethod
    def _metrics_host_port(cls, value: str | None) -> str | None:
        return cls._host_port(value) if value else None

    @field_validator("feed")
    @classmethod
    def _feed_mode(cls, value: str) -> str:
        if value not in ("mock", "kite") and not value.startswith("replay:"):
            raise ValueError(f"expected 'mock', 'kite' or 'replay:<file.csv>', got {value!r}")
        if value.startswith("replay:") and not Path(value[len("replay:") :]).is_file():
            raise ValueError(f"replay file {value[len('replay:') :]!r} does not exist")
        return value

    @field_validator("lease_ttl_s")
    @classmethod
    def _lease_ttl(cls, value: float) -> float:
        if not 1.0 <= value <= 300.0:
            raise ValueError(
                f"the broker lease TTL must be between 1 and 300 seconds, got {value:g} "
                "(a standby takes over within it; the owner renews every third of it)"
            )
        return value

    @field_validator("summary_interval_s")
    @classmethod
    def _summary_interval(cls, value: float) -> float:
        if not value > 0:
            raise ValueError(
                f"the console summary interval must be > 0 seconds, got {value:g} "
                "(to silence it, pass `up --quiet`)"
            )
        return value

    @field_validator("starting_cash")
    @classmethod
    def _positive_cash(cls, value: Decimal) -> Decimal:
        if not value.is_finite() or value <= 0:
            raise ValueError(f"starting cash must be a positive amount of rupees, got {value}")
        return value

    @property
    def nats_servers(self) -> tuple[str, ...]:
        """NATS_URL's servers (empty: the embedded server)."""
        return parse_servers(self.nats_url) if self.nats_url else ()

    @property
    def brokers(self) -> tuple[Broker, ...]:
        return tuple(parse_broker(b) for b in self.brokers_csv.split(","))

    @property
    def feed_source(self) -> str:
        """ALPHA_PANDA_FEED, or "kite" when it is not set and the zerodha broker is on: paper
        and zerodha then trade on the same ticks (the simulator's, if KITE_WS_ROOT says so)."""
        if "feed" not in self.model_fields_set and "zerodha" in self.brokers:
            return "kite"
        return self.feed

    @property
    def web_host_port(self) -> tuple[str, int]:
        host, _, port = self.web_addr.rpartition(":")
        return host, int(port)


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning pydantic's report into one ConfigError naming each variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"])
            problems.append(f"{name}: {err['msg']}" if name else str(err["msg"]))
        raise ConfigError(
            "invalid settings: " + "; ".join(problems) + " (fix the environment or .env)"
        ) from None
