"""The official kiteconnect client against `alpha-panda sim kite`: login, orders, rules, faults."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import httpx
import pytest
import requests
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kex

from tests.ops.sim.conftest import RunningSim, start_sim

PROTECT = KiteConnect.MARKET_PROTECTION_AUTO


def _market(kite: KiteConnect, **extra: object) -> str:
    order_id: str = kite.place_order(
        variety=kite.VARIETY_REGULAR,
        exchange="NSE",
        tradingsymbol="INFY",
        transaction_type=kite.TRANSACTION_TYPE_BUY,
        quantity=1,
        product=kite.PRODUCT_MIS,
        order_type=kite.ORDER_TYPE_MARKET,
        **extra,
    )
    return order_id


def test_login_exchanges_the_request_token_for_an_access_token_that_works(
    kite_sim: RunningSim,
) -> None:
    env = kite_sim.env
    kite = KiteConnect(env["KITE_API_KEY"], root=env["KITE_ROOT"])
    session = kite.generate_session(env["KITE_REQUEST_TOKEN"], api_secret=env["KITE_API_SECRET"])
    assert session["access_token"] != env["KITE_ACCESS_TOKEN"]
    assert kite.profile()["user_id"] == "SIM001"


def test_login_with_a_wrong_secret_is_a_token_exception(kite_sim: RunningSim) -> None:
    env = kite_sim.env
    kite = KiteConnect(env["KITE_API_KEY"], root=env["KITE_ROOT"])
    with pytest.raises(kex.TokenException, match="checksum"):
        kite.generate_session(env["KITE_REQUEST_TOKEN"], api_secret="wrong")


def test_a_market_order_with_protection_and_a_20_char_tag_fills(kite_sim: RunningSim) -> None:
    kite = kite_sim.client()
    order_id = _market(kite, market_protection=PROTECT, tag="a" * 20)
    history = kite.order_history(order_id)
    assert history[0]["status"] == "PUT ORDER REQ RECEIVED"
    assert history[-1]["status"] == "COMPLETE"
    assert history[-1]["tag"] == "a" * 20
    (trade,) = kite.trades()
    assert trade["order_id"] == order_id and trade["quantity"] == 1
    (position,) = kite.positions()["net"]
    assert position["tradingsymbol"] == "INFY" and position["quantity"] == 1
    assert kite.margins()["equity"]["utilised"]["debits"] == trade["average_price"]
    assert kite.holdings() == []


def test_a_market_order_without_market_protection_is_an_input_exception(
    kite_sim: RunningSim,
) -> None:
    with pytest.raises(kex.InputException, match="market protection") as info:
        _market(kite_sim.client())
    assert info.value.code == 400


def test_a_tag_of_21_chars_is_an_input_exception(kite_sim: RunningSim) -> None:
    with pytest.raises(kex.InputException, match="20 chars"):
        _market(kite_sim.client(), market_protection=PROTECT, tag="a" * 21)


def test_a_limit_order_rests_is_modified_at_most_25_times_and_cancels(
    kite_sim: RunningSim,
) -> None:
    kite = kite_sim.client()
    order_id = kite.place_order(
        variety="regular", exchange="NSE", tradingsymbol="INFY", transaction_type="BUY",
        quantity=1, product="CNC", order_type="LIMIT", price=1.0,
    )  # fmt: skip
    for _ in range(25):
        time.sleep(0.11)  # under Kite's 10 order requests a second
        kite.modify_order("regular", order_id, price=1.05)
    time.sleep(0.11)
    with pytest.raises(kex.OrderException, match="modifications"):
        kite.modify_order("regular", order_id, price=1.1)
    kite.cancel_order("regular", order_id)
    assert kite.order_history(order_id)[-1]["status"] == "CANCELLED"
    assert kite.trades() == []


def test_more_than_10_orders_a_second_answer_429_network_exception(kite_sim: RunningSim) -> None:
    kite = kite_sim.client()
    codes, messages = [], []
    for _ in range(12):
        try:
            _market(kite, market_protection=PROTECT)
            codes.append(200)
        except kex.NetworkException as exc:
            codes.append(exc.code)
            messages.append(str(exc))
    assert codes.count(429) >= 1
    assert set(messages) == {"Too many requests"}
    assert codes.count(200) <= 10


def test_instruments_and_historical_candles(kite_sim: RunningSim) -> None:
    kite = kite_sim.client()
    rows = kite.instruments("NSE")
    assert len(rows) == 20
    infy = next(r for r in rows if r["tradingsymbol"] == "INFY")
    assert infy["instrument_token"] == 408065 and infy["lot_size"] == 1
    end = datetime(2026, 1, 5, 15, 29)
    candles = kite.historical_data(408065, end - timedelta(minutes=9), end, "minute")
    assert len(candles) == 10
    assert all(c["low"] <= c["open"] <= c["high"] for c in candles)
    with pytest.raises(kex.InputException, match="60 days"):
        kite.historical_data(408065, end - timedelta(days=61), end, "minute")


def test_an_injected_5xx_is_a_network_exception_once(kite_sim: RunningSim) -> None:
    kite = kite_sim.client()
    kite_sim.faults(http_5xx=1)
    with pytest.raises(kex.NetworkException) as info:
        kite.profile()
    assert info.value.code == 503
    assert kite.profile()["user_id"] == "SIM001"


def test_an_injected_429_is_a_network_exception(kite_sim: RunningSim) -> None:
    kite = kite_sim.client()
    kite_sim.faults(http_429=1)
    with pytest.raises(kex.NetworkException) as info:
        kite.orders()
    assert info.value.code == 429


def test_a_timeout_after_place_leaves_the_order_placed(kite_sim: RunningSim) -> None:
    kite = kite_sim.client(timeout=0.5)
    kite_sim.faults(timeout_after_place=1, timeout_s=3)
    with pytest.raises(requests.exceptions.Timeout):
        _market(kite, market_protection=PROTECT, tag="ambiguous-1")
    (order,) = [o for o in kite.orders() if o["tag"] == "ambiguous-1"]
    assert order["status"] == "COMPLETE"


def test_an_expired_token_is_a_403_token_exception_until_a_new_login(
    kite_sim: RunningSim,
) -> None:
    kite = kite_sim.client()
    kite.profile()
    kite_sim.faults(expire_token=True)
    with pytest.raises(kex.TokenException) as info:
        kite.profile()
    assert info.value.code == 403
    env = kite_sim.env
    kite.generate_session(env["KITE_REQUEST_TOKEN"], api_secret=env["KITE_API_SECRET"])
    assert kite.profile()["user_id"] == "SIM001"


def test_an_unknown_fault_is_refused_naming_the_known_ones(kite_sim: RunningSim) -> None:
    r = httpx.post(f"{kite_sim.env['KITE_ROOT']}/_sim/faults", json={"explode": 1})
    assert r.status_code == 400
    assert "known" in r.json()["message"] and "http_5xx" in r.json()["message"]


def test_fault_flags_on_the_command_line_apply_from_the_first_request() -> None:
    with start_sim("--http-5xx", "1", "--http-429", "1") as sim:
        kite = sim.client()
        with pytest.raises(kex.NetworkException) as first:
            kite.profile()
        with pytest.raises(kex.NetworkException) as second:
            kite.profile()
        assert (first.value.code, second.value.code) == (503, 429)
        assert kite.profile()["user_id"] == "SIM001"
