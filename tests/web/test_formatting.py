"""Money to the paisa with Indian grouping; signed PnL and its colour class."""

from __future__ import annotations

from decimal import Decimal

import pytest

from web.formatting import ABSENT, clock, count, group_indian, money, pnl_class, signed_money


@pytest.mark.parametrize(
    ("digits", "grouped"),
    [
        ("0", "0"),
        ("999", "999"),
        ("1000", "1,000"),
        ("100000", "1,00,000"),
        ("12345678", "1,23,45,678"),
        ("1234567890", "1,23,45,67,890"),
    ],
)
def test_digits_are_grouped_the_indian_way(digits: str, grouped: str) -> None:
    assert group_indian(digits) == grouped


def test_money_is_shown_to_the_paisa() -> None:
    assert money("655.72000000000000000000000") == "655.72"
    assert money(Decimal("9998745.065")) == "99,98,745.06"  # banker's rounding of the half
    assert money("-1234567.5") == "-12,34,567.50"
    assert money(0) == "0.00"
    assert money(None) == ABSENT and money("n/a") == ABSENT and money("NaN") == ABSENT


def test_pnl_carries_its_sign_and_colour() -> None:
    assert signed_money("13.5") == "+13.50" and pnl_class("13.5") == "pos"
    assert signed_money("-27") == "-27.00" and pnl_class("-27") == "neg"
    assert signed_money("0.001") == "0.00" and pnl_class("0.001") == "zero"


def test_counts_are_whole_and_grouped() -> None:
    assert count(1234567) == "12,34,567" and count(None) == ABSENT


def test_event_times_are_shown_in_ist_to_the_millisecond() -> None:
    # 2026-12-01 03:45:00.123 UTC is 09:15:00.123 in India
    assert clock(1796096700123000000) == "09:15:00.123"
    assert clock(0) == ABSENT and clock(None) == ABSENT
