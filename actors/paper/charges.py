"""The contract-note charges of an equity order, as a configurable table.

Defaults are Zerodha's NSE equity rates (docs/trading.md lists rates, sources and the
Kite sample this formula reproduces). Per order of turnover T (quantity x price):

    brokerage  = min(brokerage_cap, brokerage_rate[product] x T)
    stt        = stt_rate_delivery x T (CNC, both sides) | stt_rate_intraday_sell x T (MIS sell)
    exchange   = (exchange_txn_rate + ipft_rate) x T     (Kite reports NSE's IPFT inside it)
    sebi       = sebi_rate x T
    stamp_duty = stamp_rate[product] x T                  (buy side only)
    gst        = gst_rate x (brokerage + exchange_txn_rate x T + sebi [+ IPFT if gst_on_ipft])

Each component is rounded on its own (`ChargeRounding`, half up); GST is computed from the
unrounded components and then rounded. Brokerage is capped per executed *order*, so a
fill is charged the difference between the order's charges after and before it: the fills
of an order always add up to the order's charges, rounding included.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

import msgspec

from schemas.enums import Side
from schemas.events import Charges

__all__ = ["Product", "Rounding", "ChargeRounding", "ChargesTable"]

D = Decimal
ZERO = D(0)
_QUANTUM = {"paise": D("0.01"), "rupee": D("1")}  # built once: every fill rounds six amounts


class Product(StrEnum):
    """Kite's equity products: delivery (CNC) and intraday (MIS)."""

    CNC = "CNC"
    MIS = "MIS"


class Rounding(StrEnum):
    """How one charge component is rounded: not at all, to the paisa, or to the rupee."""

    NONE = "none"
    PAISE = "paise"
    RUPEE = "rupee"

    def apply(self, amount: Decimal) -> Decimal:
        if self is Rounding.NONE:
            return amount
        return amount.quantize(_QUANTUM[self], rounding=ROUND_HALF_UP)


class ChargeRounding(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The rounding of each component; paise everywhere by default."""

    brokerage: Rounding = Rounding.PAISE
    stt: Rounding = Rounding.PAISE
    exchange_txn: Rounding = Rounding.PAISE
    sebi: Rounding = Rounding.PAISE
    stamp_duty: Rounding = Rounding.PAISE
    gst: Rounding = Rounding.PAISE


_PAISA = D("0.01")
_PAISE_EVERYWHERE = ChargeRounding()
# enum members as module aliases: an enum class attribute is a slow lookup on Python 3.11
_CNC = Product.CNC
_BUY, _SELL = Side.BUY, Side.SELL


class ChargesTable(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Rates as fractions of turnover (0.001 = 0.1%); amounts in rupees."""

    brokerage_rate_delivery: Decimal = D("0")
    brokerage_rate_intraday: Decimal = D("0.0003")
    brokerage_cap: Decimal = D("20")
    stt_rate_delivery: Decimal = D("0.001")
    stt_rate_intraday_sell: Decimal = D("0.00025")
    exchange_txn_rate: Decimal = D("0.0000297")
    ipft_rate: Decimal = D("0.000001")
    sebi_rate: Decimal = D("0.000001")
    stamp_rate_delivery: Decimal = D("0.00015")
    stamp_rate_intraday: Decimal = D("0.00003")
    gst_rate: Decimal = D("0.18")
    gst_on_ipft: bool = False
    rounding: ChargeRounding = msgspec.field(default_factory=ChargeRounding)

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, Decimal) and not (value.is_finite() and value >= 0):
                raise ValueError(
                    f"charges table: {name} must be a finite number >= 0, got {value}; "
                    "rates are fractions of turnover (0.001 = 0.1%)"
                )

    def order_charges(self, side: Side, product: Product, turnover: Decimal) -> Charges:
        """The charges of one executed order of this turnover (quantity x average price)."""
        if turnover < ZERO:
            raise ValueError(f"turnover must be >= 0, got {turnover}")
        delivery = product is _CNC
        brokerage_rate = self.brokerage_rate_delivery if delivery else self.brokerage_rate_intraday
        brokerage = min(self.brokerage_cap, brokerage_rate * turnover)
        if delivery:
            stt = self.stt_rate_delivery * turnover
        else:
            stt = self.stt_rate_intraday_sell * turnover if side is _SELL else ZERO
        txn = self.exchange_txn_rate * turnover
        ipft = self.ipft_rate * turnover
        sebi = self.sebi_rate * turnover
        stamp_rate = self.stamp_rate_delivery if delivery else self.stamp_rate_intraday
        stamp = stamp_rate * turnover if side is _BUY else ZERO
        gst_base = brokerage + txn + sebi + (ipft if self.gst_on_ipft else ZERO)
        r = self.rounding
        if r == _PAISE_EVERYWHERE:  # the default: `Rounding.apply`, inlined (once per fill)
            # rounding passed by position: the keyword form costs twice the call
            up = ROUND_HALF_UP
            return Charges(
                brokerage=brokerage.quantize(_PAISA, up),
                stt=stt.quantize(_PAISA, up),
                exchange_txn=(txn + ipft).quantize(_PAISA, up),
                sebi=sebi.quantize(_PAISA, up),
                stamp_duty=stamp.quantize(_PAISA, up),
                gst=(self.gst_rate * gst_base).quantize(_PAISA, up),
            )
        return Charges(
            brokerage=r.brokerage.apply(brokerage),
            stt=r.stt.apply(stt),
            exchange_txn=r.exchange_txn.apply(txn + ipft),
            sebi=r.sebi.apply(sebi),
            stamp_duty=r.stamp_duty.apply(stamp),
            gst=r.gst.apply(self.gst_rate * gst_base),
        )

    def fill_charges(
        self, side: Side, product: Product, prior_turnover: Decimal, fill_turnover: Decimal
    ) -> Charges:
        """The charges of one fill: the order's charges after it minus those before it."""
        after = self.order_charges(side, product, prior_turnover + fill_turnover)
        r = self.rounding
        if not prior_turnover and (
            r == _PAISE_EVERYWHERE
            or Rounding.NONE
            not in (r.brokerage, r.stt, r.exchange_txn, r.sebi, r.stamp_duty, r.gst)
        ):
            # an order's first fill: "before" is every component rounded from zero, 0.00 or
            # 0, and subtracting it changes neither value nor exponent of a rounded amount
            return after
        before = self.order_charges(side, product, prior_turnover)
        return Charges(
            brokerage=after.brokerage - before.brokerage,
            stt=after.stt - before.stt,
            exchange_txn=after.exchange_txn - before.exchange_txn,
            sebi=after.sebi - before.sebi,
            stamp_duty=after.stamp_duty - before.stamp_duty,
            gst=after.gst - before.gst,
        )
