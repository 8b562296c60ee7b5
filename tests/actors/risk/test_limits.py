"""Risk limits are typed configuration with safe defaults and errors that say what to do."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from actors.errors import RiskConfigError
from actors.risk.limits import RiskLimits


def test_the_defaults_are_valid_and_finite() -> None:
    limits = RiskLimits()
    limits.validate()
    assert limits.max_order_notional > 0
    assert limits.max_open_orders > 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_order_notional", Decimal("-1")),
        ("max_order_notional", Decimal("0")),
        ("max_position_qty", 0),
        ("max_gross_exposure", Decimal("-5")),
        ("max_open_orders", -1),
        ("rate_limit_per_s", Decimal("0")),
        ("burst", 0),
        ("price_collar_pct", Decimal("-0.5")),
        ("daily_loss_limit", Decimal("-1000")),
        ("max_order_notional", Decimal("NaN")),
    ],
)
def test_a_non_positive_limit_is_refused_naming_the_field_and_the_fix(
    field: str, value: object
) -> None:
    with pytest.raises(RiskConfigError, match=field) as info:
        RiskLimits(**{field: value})  # type: ignore[arg-type]
    assert info.value.field == field
    assert "must be" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_limits_decode_from_configuration_and_refuse_unknown_keys() -> None:
    limits = msgspec.convert(
        {"max_order_notional": "250000", "daily_loss_limit": "10000", "burst": 5}, RiskLimits
    )
    assert (limits.max_order_notional, limits.burst) == (Decimal("250000"), 5)
    with pytest.raises(msgspec.ValidationError, match="max_order_notionall"):
        msgspec.convert({"max_order_notionall": "1"}, RiskLimits)
    with pytest.raises(msgspec.ValidationError, match="daily_loss_limit"):
        msgspec.convert({"daily_loss_limit": "-1"}, RiskLimits)
