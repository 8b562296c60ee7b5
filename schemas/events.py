"""The typed payloads of the pipeline.

Rules (STYLE 8): frozen, kw_only Structs; a new field gets a default; a field's type never
changes; unknown fields are ignored when decoding so old readers accept new writers.
Money and prices are `Decimal` (encoded as JSON strings, so no binary float ever
touches them); quantities are integers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, ClassVar, Final, get_args

import msgspec

from schemas.enums import OrderFailReason, OrderType, RejectReason, Side, TradingState
from schemas.names import ControlVerb

__all__ = [
    "Event",
    "AVRO_STRING",
    "DepthLevel",
    "Depth",
    "Ohlc",
    "MarketTick",
    "TradingSignal",
    "ValidatedSignal",
    "RejectedSignal",
    "OrderSubmitted",
    "OrderAccepted",
    "Charges",
    "OrderFilled",
    "OrderFailed",
    "OrderCancelled",
    "PositionView",
    "StrategyPnl",
    "PnlSnapshot",
    "ControlCommand",
    "DeadLetter",
    "Alert",
    "AuditEvent",
    "Heartbeat",
    "AnyEvent",
    "EVENT_TYPES",
    "event_class",
]

ZERO = Decimal(0)

# An enum in Python that stays a string in Avro: for fields that were plain strings before
# they got a closed vocabulary, since string -> enum is a type change that cannot read
# the records already written (STYLE 8). On the JSON wire an enum is its string anyway.
AVRO_STRING: Final = msgspec.Meta(extra={"avro": "string"})


class _Tag:
    """`Event.TYPE` is the struct's tag, so an event's type name is written once: where
    its class says `tag="..."`."""

    def __get__(self, instance: object, owner: type[msgspec.Struct]) -> str:
        return str(owner.__struct_config__.tag)


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag=True, gc=False):
    """Base of every payload; `TYPE` is the envelope's `type`, `VERSION` its schema_version.

    Tagged: a payload carries its type as `"type"`, so `AnyEvent` decodes by dispatching
    on it. A payload without the tag (written before events carried it, or rebuilt from
    an Avro record, whose schemas leave it out) still decodes as its envelope's type.

    `gc=False`: events are frozen values whose fields are scalars, strings, enums and
    lists or dicts of those or of other structs, never anything that points back at the
    event, so they cannot be part of a reference cycle; untracked, they cost the cyclic
    GC nothing (a backtest holds every event of its run: scanning them took 14% of a
    ten-session run). Reference counting still frees them.
    """

    if TYPE_CHECKING:
        TYPE: ClassVar[str]
    else:
        TYPE = _Tag()
    VERSION: ClassVar[int] = 1


class DepthLevel(msgspec.Struct, frozen=True, kw_only=True):
    price: Decimal
    quantity: int
    orders: int = 0


class Depth(msgspec.Struct, frozen=True, kw_only=True):
    """Five levels a side, best first, as Kite's full-mode ticks carry them."""

    buy: list[DepthLevel] = msgspec.field(default_factory=list)
    sell: list[DepthLevel] = msgspec.field(default_factory=list)


class Ohlc(msgspec.Struct, frozen=True, kw_only=True):
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


class MarketTick(Event, frozen=True, kw_only=True, tag="market.tick"):
    """One quote/trade update for an instrument, shaped after Kite's full-mode tick."""

    instrument_token: int
    last_price: Decimal
    symbol: str | None = None
    tradable: bool = True
    mode: str = "full"
    last_traded_quantity: int = 0
    average_traded_price: Decimal | None = None
    volume_traded: int = 0
    total_buy_quantity: int = 0
    total_sell_quantity: int = 0
    ohlc: Ohlc | None = None
    change: Decimal | None = None
    last_trade_time_ns: int | None = None
    exchange_timestamp_ns: int | None = None
    oi: int = 0
    depth: Depth | None = None


class TradingSignal(Event, frozen=True, kw_only=True, tag="signal.trading"):
    """A strategy's intent to trade; becomes an order only after the risk manager agrees."""

    strategy_id: str
    instrument_token: int
    side: Side
    quantity: int
    reference_price: Decimal
    symbol: str | None = None
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    reason: str = ""
    tick_ts: int = 0
    bid: Decimal | None = None
    ask: Decimal | None = None
    # The market's own time of the tick (exchange timestamp), when it has one: what the
    # rate limit and the trading day run on, so a replayed day decides as the live one did.
    # `tick_ts` stays the tick's publish time, from which latency is measured.
    event_ts: int = 0
    # The tick the signal was computed on: its MARKET stream sequence and envelope id. Risk
    # and execution price the signal from that tick as they read it from MARKET; the prices
    # above are the strategy's own account, never used to value or fill an order.
    tick_seq: int = 0
    tick_id: str = ""


class ValidatedSignal(Event, frozen=True, kw_only=True, tag="signal.validated"):
    signal_id: str
    client_order_id: str
    signal: TradingSignal
    trading_state: TradingState = TradingState.ACTIVE


class RejectedSignal(Event, frozen=True, kw_only=True, tag="signal.rejected"):
    signal_id: str
    signal: TradingSignal
    reason: RejectReason
    detail: str = ""


class OrderSubmitted(Event, frozen=True, kw_only=True, tag="order.submitted"):
    client_order_id: str
    signal_id: str
    strategy_id: str
    instrument_token: int
    side: Side
    quantity: int
    symbol: str | None = None
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    tick_ts: int = 0
    tag: str = ""  # the broker's order tag (zerodha: `actors.kite.tags`), "" for paper


class OrderAccepted(Event, frozen=True, kw_only=True, tag="order.accepted"):
    client_order_id: str
    broker_order_id: str
    instrument_token: int = 0
    tag: str = ""


class Charges(msgspec.Struct, frozen=True, kw_only=True):
    """Contract-note charges of one fill, in rupees (Decimal, rounded to paise)."""

    brokerage: Decimal = ZERO
    stt: Decimal = ZERO
    exchange_txn: Decimal = ZERO
    sebi: Decimal = ZERO
    stamp_duty: Decimal = ZERO
    gst: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return (
            self.brokerage + self.stt + self.exchange_txn + self.sebi + self.stamp_duty + self.gst
        )


class OrderFilled(Event, frozen=True, kw_only=True, tag="order.filled"):
    """One execution: partial (`final` False) or the last fill of an order."""

    client_order_id: str
    broker_order_id: str
    fill_id: str
    strategy_id: str
    instrument_token: int
    side: Side
    quantity: int
    price: Decimal
    cumulative_quantity: int
    order_quantity: int
    average_price: Decimal
    final: bool
    charges: Charges = msgspec.field(default_factory=Charges)
    symbol: str | None = None
    tick_ts: int = 0
    tag: str = ""


class OrderFailed(Event, frozen=True, kw_only=True, tag="order.failed"):
    client_order_id: str
    reason: Annotated[OrderFailReason, AVRO_STRING]
    detail: str = ""
    signal_id: str = ""
    instrument_token: int = 0
    tag: str = ""


class OrderCancelled(Event, frozen=True, kw_only=True, tag="order.cancelled"):
    client_order_id: str
    broker_order_id: str = ""
    filled_quantity: int = 0
    reason: str = ""
    instrument_token: int = 0
    tag: str = ""


class PositionView(msgspec.Struct, frozen=True, kw_only=True):
    """One position: of a strategy in an instrument (`strategy_id` set), or the sum of every
    strategy's in an instrument (`strategy_id` ""). `marked` False: no tick at or after the
    one its last fill was priced from has been seen yet, so it is valued at cost
    (`last_price` 0, `unrealized_pnl` 0). Charges, turnover and fills are cumulative."""

    instrument_token: int
    quantity: int
    average_price: Decimal
    last_price: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    symbol: str | None = None
    strategy_id: str = ""
    charges: Decimal = ZERO
    turnover: Decimal = ZERO
    fills: int = 0
    marked: bool = True


class StrategyPnl(msgspec.Struct, frozen=True, kw_only=True):
    """One strategy's figures summed over its instruments (realized before charges)."""

    strategy_id: str
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    charges: Decimal
    turnover: Decimal
    fills: int
    open_positions: int = 0


class PnlSnapshot(Event, frozen=True, kw_only=True, tag="pnl.snapshot"):
    """A portfolio's state at `as_of_ns`; `last_seq` is the stream sequence it includes."""

    positions: list[PositionView]
    cash: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    charges: Decimal
    equity: Decimal
    as_of_ns: int
    last_seq: int = 0
    fills: int = 0
    turnover: Decimal = ZERO
    #: per (strategy, instrument); `positions` holds their per-instrument sums
    strategy_positions: list[PositionView] = msgspec.field(default_factory=list)
    strategies: list[StrategyPnl] = msgspec.field(default_factory=list)


class ControlCommand(Event, frozen=True, kw_only=True, tag="control.command"):
    """halt / resume / reduce for one broker or (broker None) for all; restart of `actor`."""

    verb: Annotated[ControlVerb, AVRO_STRING]
    broker: str | None = None
    reason: str = ""
    requested_by: str = ""
    #: the actor a `restart` names (None for the trading-state verbs)
    actor: str | None = None


class DeadLetter(Event, frozen=True, kw_only=True, tag="dead.letter"):
    """An input an actor could not process, with everything needed to re-drive it."""

    original_subject: str
    error: str
    error_type: str
    actor: str
    attempts: int
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    payload: str = ""
    payload_encoding: str = "utf-8"
    stream_seq: int = 0


class Alert(Event, frozen=True, kw_only=True, tag="alert"):
    name: str
    severity: str
    state: str
    message: str
    broker: str | None = None


class AuditEvent(Event, frozen=True, kw_only=True, tag="audit"):
    kind: str
    actor: str
    detail: dict[str, str] = msgspec.field(default_factory=dict)


class Heartbeat(Event, frozen=True, kw_only=True, tag="heartbeat"):
    seq: int


AnyEvent = (
    MarketTick
    | TradingSignal
    | ValidatedSignal
    | RejectedSignal
    | OrderSubmitted
    | OrderAccepted
    | OrderFilled
    | OrderFailed
    | OrderCancelled
    | PnlSnapshot
    | ControlCommand
    | DeadLetter
    | Alert
    | AuditEvent
    | Heartbeat
)

EVENT_TYPES: dict[str, type[Event]] = {cls.TYPE: cls for cls in get_args(AnyEvent)}


def event_class(type_name: str) -> type[Event]:
    try:
        return EVENT_TYPES[type_name]
    except KeyError:
        raise ValueError(
            f"unknown event type {type_name!r}; known: {', '.join(sorted(EVENT_TYPES))}"
        ) from None
