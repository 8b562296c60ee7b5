"""Kite's order limits per account, enforced before an order leaves the process."""

from __future__ import annotations

from actors.kite.order_limits import OrderLimits, limits_for, reset_limits

S = 1_000_000_000
T0 = 1_795_000_000 * S  # a moment on an IST trading day


def test_ten_orders_a_second_pass_and_the_eleventh_is_refused_by_name() -> None:
    limits = OrderLimits()
    assert [limits.admit(T0 + i) for i in range(10)] == [None] * 10
    assert limits.admit(T0 + 10) == "orders_per_second"
    assert limits.admit(T0 + S) is None  # the first one left the window
    assert limits.refused == {"orders_per_second": 1} and limits.admitted == 11


def test_four_hundred_a_minute_even_at_ten_a_second() -> None:
    limits = OrderLimits()
    results = [limits.admit(T0 + i * S // 10) for i in range(600)]  # 10/s for 60 s
    assert results.count(None) == 400
    assert set(results[400:]) == {"orders_per_minute"}
    assert limits.admit(T0 + 60 * S + 1) is None  # a minute after the first


def test_five_thousand_a_day_then_none_until_the_next_ist_day() -> None:
    limits = OrderLimits(windows=(), per_day=5000)
    assert all(limits.admit(T0 + i) is None for i in range(5000))
    assert limits.admit(T0 + 5000) == "orders_per_day"
    assert limits.admit(T0 + 86_400 * S) is None  # the next day counts afresh
    assert limits.stats()["refused"] == {"orders_per_day": 1}


def test_every_venue_of_one_account_shares_one_limiter() -> None:
    reset_limits()
    assert limits_for("key-a") is limits_for("key-a")
    assert limits_for("key-a") is not limits_for("key-b")
    shared = limits_for("key-a")
    for i in range(10):
        assert shared.admit(T0 + i) is None
    assert limits_for("key-a").admit(T0 + 11) == "orders_per_second"
    reset_limits()


def test_a_refusal_says_which_limit_and_how_much() -> None:
    text = OrderLimits().describe("orders_per_minute")
    assert "orders_per_minute" in text and "400 in 60s" in text
