"""The envelope: round trips, causation links and decode errors that name the problem."""

from __future__ import annotations

from decimal import Decimal

import pytest

from schemas.enums import Side
from schemas.envelope import decode, decode_as, encode, headers_for, new_envelope
from schemas.errors import DecodeError
from schemas.events import MarketTick, OrderFilled


def tick() -> MarketTick:
    return MarketTick(instrument_token=738561, last_price=Decimal("2450.05"), symbol="RELIANCE")


def test_an_envelope_round_trips_with_exact_decimal_prices() -> None:
    env = new_envelope(tick(), source="feed", key="738561")
    raw = encode(env)
    assert b'"last_price":"2450.05"' in raw
    back = decode_as(raw, MarketTick)
    assert back == env
    assert decode(raw) == env


def test_an_output_links_correlation_causation_and_trace_to_its_input() -> None:
    cause = new_envelope(tick(), source="feed", trace="00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    fill = OrderFilled(
        client_order_id="c1", broker_order_id="b1", fill_id="f1", strategy_id="s",
        instrument_token=1, side=Side.BUY, quantity=1, price=Decimal("1.05"),
        cumulative_quantity=1, order_quantity=1, average_price=Decimal("1.05"), final=True,
    )  # fmt: skip
    out = new_envelope(fill, source="paper", broker="paper", cause=cause)
    assert out.causation_id == cause.id
    assert out.correlation_id == cause.id
    assert out.trace == cause.trace
    assert headers_for(out)["traceparent"] == cause.trace
    assert headers_for(out, "x:y:0")["Nats-Msg-Id"] == "x:y:0"


def test_decoding_the_wrong_type_or_junk_raises_a_decode_error_naming_the_problem() -> None:
    raw = encode(new_envelope(tick(), source="feed"))
    with pytest.raises(DecodeError, match="invalid order.filled envelope"):
        decode_as(raw, OrderFilled)
    with pytest.raises(DecodeError, match="malformed JSON"):
        decode_as(b"{nope", MarketTick)
    with pytest.raises(DecodeError, match="unknown event type 'mystery'"):
        decode(raw.replace(b'"market.tick"', b'"mystery"'))
    with pytest.raises(DecodeError, match=r"\$.data.last_price"):
        decode_as(raw.replace(b'"2450.05"', b'"abc"'), MarketTick)


def test_unknown_fields_from_newer_writers_are_ignored() -> None:
    raw = encode(new_envelope(tick(), source="feed")).replace(
        b'"symbol":"RELIANCE"', b'"symbol":"RELIANCE","new_field":1'
    )
    assert decode_as(raw, MarketTick).data.symbol == "RELIANCE"
