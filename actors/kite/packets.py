"""Kite ticker binary packets: a pure encoder and decoder, no I/O.

Layout per Kite Connect's WebSocket documentation (and `KiteTicker._parse_binary`): a frame
is a big-endian `uint16` packet count, then for each packet a `uint16` length and the packet.
Packets are 8 bytes (ltp), 44 (quote) or 184 (full, with five levels of depth a side); every
field is a big-endian `uint32`, prices in paise for NSE equity (divided by 100), timestamps in
epoch seconds. A frame shorter than two bytes is a heartbeat and holds no ticks.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from actors.kite.errors import PacketError
from schemas.events import Depth, DepthLevel, MarketTick, Ohlc

__all__ = [
    "MODES",
    "PACKET_LENGTHS",
    "PacketError",
    "encode_packet",
    "encode_frame",
    "decode_packet",
    "decode_frame",
]

MODES = ("ltp", "quote", "full")
PACKET_LENGTHS = {"ltp": 8, "quote": 44, "full": 184}
_MODE_OF_LENGTH = {length: mode for mode, length in PACKET_LENGTHS.items()}
DEPTH_LEVELS = 5
_NS = 1_000_000_000
_PAISE = Decimal(100)
_CHANGE_STEP = Decimal("0.0001")
_HEAD = struct.Struct(">II")  # token, last price
_QUOTE = struct.Struct(">9I")  # ltq, atp, volume, buy qty, sell qty, open, high, low, close
_FULL = struct.Struct(">5I")  # last trade time, oi, oi day high, oi day low, exchange ts
_LEVEL = struct.Struct(">IIHxx")  # quantity, price, orders, two bytes of padding
_U16 = struct.Struct(">H")


def _paise(price: Decimal | None) -> int:
    if price is None:
        return 0
    return int((price * _PAISE).to_integral_value(rounding=ROUND_HALF_UP))


def _rupees(paise: int) -> Decimal:
    return Decimal(paise) / _PAISE


def _seconds(ns: int | None) -> int:
    return 0 if ns is None else ns // _NS


def encode_packet(tick: MarketTick, mode: str) -> bytes:
    """One packet for `tick` in `mode` ("ltp", "quote" or "full")."""
    if mode not in PACKET_LENGTHS:
        raise PacketError(f"unknown ticker mode {mode!r}; use one of {', '.join(MODES)}")
    out = _HEAD.pack(tick.instrument_token, _paise(tick.last_price))
    if mode == "ltp":
        return out
    ohlc = tick.ohlc or Ohlc(open=Decimal(0), high=Decimal(0), low=Decimal(0), close=Decimal(0))
    out += _QUOTE.pack(
        tick.last_traded_quantity,
        _paise(tick.average_traded_price),
        tick.volume_traded,
        tick.total_buy_quantity,
        tick.total_sell_quantity,
        _paise(ohlc.open),
        _paise(ohlc.high),
        _paise(ohlc.low),
        _paise(ohlc.close),
    )
    if mode == "quote":
        return out
    out += _FULL.pack(
        _seconds(tick.last_trade_time_ns),
        tick.oi,
        0,
        0,
        _seconds(tick.exchange_timestamp_ns),
    )
    depth = tick.depth or Depth(buy=[], sell=[])
    for side in (depth.buy, depth.sell):
        levels = list(side[:DEPTH_LEVELS])
        for level in levels:
            out += _LEVEL.pack(level.quantity, _paise(level.price), level.orders)
        out += _LEVEL.pack(0, 0, 0) * (DEPTH_LEVELS - len(levels))
    return out


def encode_frame(packets: Iterable[bytes]) -> bytes:
    """A WebSocket frame: the packet count, then each packet behind its length."""
    body = [_U16.pack(len(p)) + p for p in packets]
    return _U16.pack(len(body)) + b"".join(body)


def decode_packet(packet: bytes) -> MarketTick:
    """One packet back into a tick; the mode follows from the packet's length."""
    mode = _MODE_OF_LENGTH.get(len(packet))
    if mode is None:
        raise PacketError(
            f"a ticker packet of {len(packet)} bytes; Kite's NSE equity packets are "
            "8 (ltp), 44 (quote) or 184 (full) bytes"
        )
    token, last = _HEAD.unpack_from(packet, 0)
    price = _rupees(last)
    if mode == "ltp":
        return MarketTick(instrument_token=token, last_price=price, mode=mode)
    ltq, atp, volume, buy_qty, sell_qty, o, h, low, c = _QUOTE.unpack_from(packet, 8)
    ohlc = Ohlc(open=_rupees(o), high=_rupees(h), low=_rupees(low), close=_rupees(c))
    change = Decimal(0)
    if ohlc.close:
        change = ((price - ohlc.close) * 100 / ohlc.close).quantize(_CHANGE_STEP, ROUND_HALF_UP)
    fields: dict[str, object] = {}
    if mode == "full":
        ltt, oi, _oi_high, _oi_low, ets = _FULL.unpack_from(packet, 44)
        levels = [_LEVEL.unpack_from(packet, 64 + i * _LEVEL.size) for i in range(2 * DEPTH_LEVELS)]
        book = [DepthLevel(quantity=q, price=_rupees(p), orders=n) for q, p, n in levels]
        fields = {
            "last_trade_time_ns": ltt * _NS,
            "exchange_timestamp_ns": ets * _NS,
            "oi": oi,
            "depth": Depth(
                buy=[d for d in book[:DEPTH_LEVELS] if d.quantity],
                sell=[d for d in book[DEPTH_LEVELS:] if d.quantity],
            ),
        }
    return MarketTick(
        instrument_token=token,
        last_price=price,
        mode=mode,
        last_traded_quantity=ltq,
        average_traded_price=_rupees(atp),
        volume_traded=volume,
        total_buy_quantity=buy_qty,
        total_sell_quantity=sell_qty,
        ohlc=ohlc,
        change=change,
        **fields,  # type: ignore[arg-type]
    )


def decode_frame(frame: bytes) -> list[MarketTick]:
    """Every tick in a WebSocket frame; a heartbeat (under two bytes) holds none."""
    if len(frame) < 2:
        return []
    (count,) = _U16.unpack_from(frame, 0)
    ticks, at = [], 2
    for _ in range(count):
        if at + 2 > len(frame):
            raise PacketError(f"ticker frame truncated: {count} packets announced, frame ends")
        (length,) = _U16.unpack_from(frame, at)
        packet = frame[at + 2 : at + 2 + length]
        if len(packet) != length:
            raise PacketError(f"ticker frame truncated inside a packet of {length} bytes")
        ticks.append(decode_packet(packet))
        at += 2 + length
    return ticks
