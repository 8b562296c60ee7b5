"""NATS_URL takes one server or a cluster's comma-separated seed list; a bad entry is named."""

from __future__ import annotations

import pytest

from ops.settings import load_settings
from schemas.errors import ConfigError
from supervisors.nats_auth import redact_url
from supervisors.nats_urls import InvalidNatsUrl, parse_servers


def test_a_seed_list_is_split_into_full_server_urls() -> None:
    assert parse_servers(" nats://a:4222 ,b:4223,tls://c:4224") == (
        "nats://a:4222",
        "nats://b:4223",
        "tls://c:4224",
    )


def test_one_server_stays_one_server() -> None:
    assert parse_servers("nats://127.0.0.1:4222") == ("nats://127.0.0.1:4222",)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("nats://a:4222,,nats://b:4222", "an empty entry"),
        ("http://a:4222", "scheme 'http'"),
        ("nats://a:notaport", "Port could not be cast"),
        ("nats://a:99999", "out of range"),
        ("nats://:4222", "no host"),
        ("nats://a:4222/path", "no path"),
        (" , ", "empty"),
    ],
)
def test_a_malformed_entry_is_refused_naming_it_and_the_form(value: str, problem: str) -> None:
    with pytest.raises(InvalidNatsUrl) as caught:
        parse_servers(value)
    assert problem in str(caught.value)
    assert "nats://n1:4222,nats://n2:4222" in str(caught.value)


def test_a_password_in_a_bad_entry_is_masked_in_the_message() -> None:
    with pytest.raises(InvalidNatsUrl) as caught:
        parse_servers("http://u:hunter2@a:4222")
    assert "hunter2" not in str(caught.value)


def test_settings_read_the_list_and_refuse_a_bad_one_as_a_config_error() -> None:
    settings = load_settings(NATS_URL="nats://a:1, nats://b:2")
    assert settings.nats_url == "nats://a:1,nats://b:2"
    assert settings.nats_servers == ("nats://a:1", "nats://b:2")
    with pytest.raises(ConfigError, match="NATS_URL entry 'ftp://b:2'"):
        load_settings(NATS_URL="nats://a:1,ftp://b:2")


def test_redis_url_names_one_server() -> None:
    with pytest.raises(ConfigError, match="REDIS_URL names one Redis server"):
        load_settings(REDIS_URL="redis://a:6379,redis://b:6379")


def test_every_url_of_a_list_is_redacted() -> None:
    assert redact_url("nats://u:p@a:1,nats://b:2,nats://v:q@c:3") == (
        "nats://u:***@a:1,nats://b:2,nats://v:***@c:3"
    )
