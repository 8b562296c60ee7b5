"""Pre-trade risk limits of one broker: typed, immutable, validated on construction."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from actors.errors import RiskConfigError

__all__ = ["RiskLimits"]

_FIXES = {
    "max_order_notional": "rupees per order, e.g. 500000",
    "max_position_qty": "shares per instrument, e.g. 1000",
    "max_gross_exposure": "rupees across instruments, e.g. 2000000",
    "max_open_orders": "working orders at once, e.g. 20",
    "rate_limit_per_s": "accepted orders per second, e.g. 10",
    "burst": "orders allowed back to back, e.g. 20",
    "price_collar_pct": "percent of the reference price, e.g. 5 for 5%",
    "daily_loss_limit": "the largest loss in rupees as a positive number, e.g. 50000",
    "max_signal_tick_age_ms": "milliseconds a signal may follow its tick, e.g. 30000",
}


class RiskLimits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Safe defaults for a small account; every value must be > 0.

    `price_collar_pct` is in percent (5 = 5%); `daily_loss_limit` is a positive amount: new
    exposure is refused once the day's PnL net of charges is at or below minus it.
    `max_signal_tick_age_ms` bounds how long before a signal its tick was stored in MARKET
    (server times); the default covers a restart, so a restarted pipeline decides as an
    uninterrupted one would.
    """

    max_order_notional: Decimal = Decimal("500000")
    max_position_qty: int = 1000
    max_gross_exposure: Decimal = Decimal("2000000")
    max_open_orders: int = 20
    rate_limit_per_s: Decimal = Decimal("10")
    burst: int = 20
    price_collar_pct: Decimal = Decimal("5")
    daily_loss_limit: Decimal = Decimal("50000")
    max_signal_tick_age_ms: int = 30_000

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise RiskConfigError for the first limit that is not a finite number > 0."""
        for name in self.__struct_fields__:
            value = getattr(self, name)
            finite = value.is_finite() if isinstance(value, Decimal) else True
            if not finite or value <= 0:
                raise RiskConfigError(name, value, _FIXES.get(name, "a positive value"))
