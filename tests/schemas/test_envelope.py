"""The envelope: round trips, causation links and decode errors that name the problem."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from schemas.enums import OrderFailReason, Side
from schemas.envelope import decode, decode_as, encode, headers_for, new_envelope
from schemas.errors import DecodeError
from schemas.events import ControlCommand, MarketTick, OrderFailed, OrderFilled
from schemas.names import ControlVerb


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


def test_a_payload_carries_its_type_as_a_tag_and_decoding_dispatches_on_it() -> None:
    raw = encode(new_envelope(tick(), source="feed"))
    assert msgspec.json.decode(raw)["data"]["type"] == "market.tick"
    env = decode(raw)
    assert isinstance(env.data, MarketTick)
    assert env.data.symbol == "RELIANCE"


def test_a_payload_written_before_events_were_tagged_decodes_by_its_envelope_type() -> None:
    body = msgspec.json.decode(encode(new_envelope(tick(), source="feed")))
    del body["data"]["type"]
    untagged = msgspec.json.encode(body)
    assert decode(untagged).data == tick()
    assert decode_as(untagged, MarketTick).data == tick()


def test_an_envelope_whose_type_and_payload_tag_disagree_is_refused() -> None:
    raw = encode(new_envelope(tick(), source="feed"))
    forged = raw.replace(b'"type":"market.tick","schema', b'"type":"heartbeat","schema', 1)
    with pytest.raises(DecodeError, match="of type 'heartbeat' carries a 'market.tick' payload"):
        decode(forged)
    with pytest.raises(DecodeError, match="expected type 'order.filled', got 'market.tick'"):
        decode(raw, "order.filled")


def test_an_enum_field_decodes_to_its_enum_and_refuses_other_words() -> None:
    command = ControlCommand(verb=ControlVerb.HALT, broker="paper")
    raw = encode(new_envelope(command, source="gate"))
    assert decode_as(raw, ControlCommand).data.verb is ControlVerb.HALT
    with pytest.raises(DecodeError, match=r"\$.data.verb"):
        decode_as(raw.replace(b'"verb":"halt"', b'"verb":"panic"'), ControlCommand)
    failed = OrderFailed(client_order_id="c", reason=OrderFailReason.NO_MARKET_PRICE)
    back = decode(encode(new_envelope(failed, source="paper")))
    assert isinstance(back.data, OrderFailed)
    assert back.data.reason is OrderFailReason.NO_MARKET_PRICE
