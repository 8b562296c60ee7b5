"""The ticker packet codec against Kite's published samples and the official parser."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from kiteconnect import KiteTicker

from actors.feed.gbm import GbmFeed
from actors.instruments import InstrumentBook
from actors.kite.errors import PacketError
from actors.kite.packets import (
    MODES,
    decode_frame,
    decode_packet,
    encode_frame,
    encode_packet,
)

FIXTURES = Path(__file__).parent / "fixtures"  # from github.com/zerodha/kiteconnect-mocks


def _sample(name: str) -> tuple[bytes, dict[str, Any]]:
    packet = base64.b64decode((FIXTURES / f"{name}.packet").read_text())
    expected: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return packet, expected


def _official(frame: bytes) -> list[dict[str, Any]]:
    ticks: list[dict[str, Any]] = KiteTicker("k", "t")._parse_binary(frame)
    return ticks


@pytest.mark.parametrize("name", ["ticker_quote", "ticker_full"])
def test_decodes_kites_sample_packet_and_encodes_it_back_byte_for_byte(name: str) -> None:
    packet, expected = _sample(name)
    tick = decode_packet(packet)
    assert tick.mode == expected["mode"]
    assert tick.instrument_token == expected["instrument_token"]
    assert tick.last_price == Decimal(str(expected["last_price"]))
    assert tick.last_traded_quantity == expected["last_quantity"]
    assert tick.average_traded_price == Decimal(str(expected["average_price"]))
    assert tick.volume_traded == expected["volume"]
    assert tick.total_buy_quantity == expected["buy_quantity"]
    assert tick.total_sell_quantity == expected["sell_quantity"]
    assert tick.ohlc is not None
    for field in ("open", "high", "low", "close"):
        assert getattr(tick.ohlc, field) == Decimal(str(expected["ohlc"][field]))
    if name == "ticker_full":
        assert tick.depth is not None
        for side in ("buy", "sell"):
            got = [(d.price, d.quantity, d.orders) for d in getattr(tick.depth, side)]
            want = [
                (Decimal(str(d["price"])), d["quantity"], d["orders"])
                for d in expected["depth"][side]
            ]
            assert got == want
    assert encode_packet(tick, tick.mode) == packet


def test_frames_of_the_sample_packets_decode_to_both_ticks() -> None:
    packets = [_sample("ticker_quote")[0], _sample("ticker_full")[0]]
    ticks = decode_frame(encode_frame(packets))
    assert [t.mode for t in ticks] == ["quote", "full"]


def _walk_ticks(count: int) -> list[Any]:
    feed = GbmFeed(InstrumentBook.default(), seed=7)
    return [feed.next_tick() for _ in range(count)]


@pytest.mark.parametrize("mode", MODES)
def test_encoded_walk_ticks_parse_identically_with_the_official_client(mode: str) -> None:
    ticks = _walk_ticks(40)
    frame = encode_frame(encode_packet(t, mode) for t in ticks)
    official = _official(frame)
    ours = decode_frame(frame)
    assert len(official) == len(ours) == len(ticks)
    for tick, theirs, back in zip(ticks, official, ours, strict=True):
        assert theirs["mode"] == back.mode == mode
        assert theirs["instrument_token"] == back.instrument_token == tick.instrument_token
        assert Decimal(str(theirs["last_price"])) == back.last_price == tick.last_price
        if mode == "ltp":
            continue
        assert tick.ohlc is not None and back.ohlc is not None
        assert (
            theirs["last_traded_quantity"] == back.last_traded_quantity == tick.last_traded_quantity
        )
        assert Decimal(str(theirs["average_traded_price"])) == tick.average_traded_price
        assert theirs["volume_traded"] == back.volume_traded == tick.volume_traded
        assert theirs["total_buy_quantity"] == tick.total_buy_quantity
        assert theirs["total_sell_quantity"] == tick.total_sell_quantity
        for field in ("open", "high", "low", "close"):
            assert Decimal(str(theirs["ohlc"][field])) == getattr(tick.ohlc, field)
        assert back.ohlc == tick.ohlc
        if mode == "full":
            assert tick.depth is not None and back.depth is not None
            assert theirs["exchange_timestamp"].timestamp() == tick.exchange_timestamp_ns // 10**9
            for side in ("buy", "sell"):
                mine = getattr(tick.depth, side)
                levels = theirs["depth"][side][: len(mine)]
                assert [(Decimal(str(d["price"])), d["quantity"], d["orders"]) for d in levels] == [
                    (d.price, d.quantity, d.orders) for d in mine
                ]
                assert getattr(back.depth, side) == mine


def test_a_heartbeat_holds_no_ticks() -> None:
    assert decode_frame(b"\x00") == []
    assert _official(b"\x00") == []


def test_a_packet_of_unknown_length_is_refused_naming_the_lengths() -> None:
    with pytest.raises(PacketError, match="8 \\(ltp\\), 44 \\(quote\\) or 184"):
        decode_packet(b"\x00" * 12)


def test_a_truncated_frame_is_refused() -> None:
    frame = encode_frame([encode_packet(_walk_ticks(1)[0], "quote")])
    with pytest.raises(PacketError, match="truncated"):
        decode_frame(frame[:-3])


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(PacketError, match="use one of ltp, quote, full"):
        encode_packet(_walk_ticks(1)[0], "depth")
