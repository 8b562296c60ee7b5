"""Producer settings per topic class and the bridge's configuration."""

from __future__ import annotations

import pytest

from bridge.errors import BridgeConfigError
from bridge.mirror.config import BridgeConfig
from bridge.mirror.producer_config import apply_overrides, default_profiles
from ops.settings import load_settings


def test_overrides_change_one_class_or_every_class() -> None:
    profiles = apply_overrides(default_profiles(), ["ticks.linger_ms=10", "*.acks=1"])
    assert profiles["ticks"].linger_ms == 10
    assert profiles["orders"].linger_ms == 0
    assert {p.acks for p in profiles.values()} == {"1"}


def test_defaults_send_ticks_in_bigger_batches_than_orders_with_acks_all() -> None:
    profiles = default_profiles()
    assert profiles["ticks"].max_batch_records > profiles["orders"].max_batch_records
    assert all(p.acks == "all" and not p.enable_idempotence for p in profiles.values())
    assert profiles["ticks"].codec in ("zstd", "lz4", "gzip")


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("ticks.compression=brotli", "expected one of"),
        ("ticks.acks=0", "acks must be 'all'"),
        ("ticks.linger=5", "CLASS.FIELD=VALUE"),
        ("candles.linger_ms=5", "unknown topic class"),
        ("ticks.linger_ms=soon", "expected an integer"),
    ],
)
def test_bad_overrides_say_what_is_expected(item: str, message: str) -> None:
    with pytest.raises(BridgeConfigError, match=message):
        apply_overrides(default_profiles(), [item])


def test_a_codec_that_is_not_installed_is_refused_with_the_install_command() -> None:
    from aiokafka import codec

    if codec.has_zstd():
        pytest.skip("zstd is installed here")
    with pytest.raises(BridgeConfigError, match=r"pip install 'aiokafka\[zstd\]'"):
        apply_overrides(default_profiles(), ["ticks.compression=zstd"])


def test_config_from_settings_reads_the_bridge_variables() -> None:
    settings = load_settings(KAFKA_BOOTSTRAP_SERVERS="k:9092", ALPHA_PANDA_ENV="production")
    environ = {
        "ALPHA_PANDA_BRIDGE_PRODUCER": "orders.linger_ms=3",
        "ALPHA_PANDA_BRIDGE_STREAMS": "paper,dlq",
    }
    config = BridgeConfig.from_settings(settings, environ=environ)
    assert (config.bootstrap_servers, config.env, config.streams) == (
        "k:9092",
        "production",
        ("PAPER", "DLQ"),
    )
    assert config.profiles["orders"].linger_ms == 3
    assert config.durable("PAPER") == "bridge-paper"
    with pytest.raises(BridgeConfigError, match="KAFKA_BOOTSTRAP_SERVERS"):
        BridgeConfig.from_settings(load_settings(KAFKA_BOOTSTRAP_SERVERS=None), environ={})
    with pytest.raises(BridgeConfigError, match="unknown streams"):
        BridgeConfig(bootstrap_servers="k:1", streams=("TRADES",))
