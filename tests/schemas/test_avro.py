"""Avro governance: committed schemas equal the generated ones and evolve BACKWARD compatibly."""

from __future__ import annotations

import io
import itertools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import fastavro
import msgspec
import pytest

from bridge.governance import wire
from bridge.governance.schema_files import (
    DEFAULT_DIR,
    SchemaIncompatible,
    backward_problems,
    check_schemas,
    export_schemas,
    history_versions,
)
from schemas.avro import all_schemas, canonical_json, envelope_schema, event_type_for_topic
from schemas.enums import OrderType, RejectReason, Side, TradingState
from schemas.envelope import Envelope, new_envelope
from schemas.events import (
    EVENT_TYPES,
    Charges,
    ControlCommand,
    Depth,
    DepthLevel,
    Event,
    MarketTick,
    Ohlc,
    OrderFailed,
    OrderFilled,
    RejectedSignal,
    TradingSignal,
    ValidatedSignal,
)


def test_the_committed_schemas_are_the_ones_the_structs_generate() -> None:
    problems = check_schemas(DEFAULT_DIR)
    assert problems == [], "\n".join(problems)


def test_every_committed_version_reads_data_written_with_the_version_before_it() -> None:
    for name in all_schemas():
        versions = history_versions(DEFAULT_DIR, name)
        assert versions, f"{name} has no history"
        for (_, older), (n, newer) in itertools.pairwise(versions):
            new, old = json.loads(newer.read_text()), json.loads(older.read_text())
            assert backward_problems(new, old) == [], f"{name} v{n}"


class _V1(Event, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "test.evolving"
    quantity: int


class _V2WithDefault(Event, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "test.evolving"
    quantity: int
    venue: str = "NSE"


class _V2Required(Event, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "test.evolving"
    quantity: int
    venue: str


class _V2TypeChanged(Event, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "test.evolving"
    quantity: str


def _named(schema: dict[str, Any]) -> dict[str, Any]:
    """The test structs have different class names; give them one record name."""
    text = json.dumps(schema)
    for cls in ("_V2WithDefault", "_V2Required", "_V2TypeChanged"):
        text = text.replace(cls, "_V1")
    return dict(json.loads(text))


def test_the_apache_checker_accepts_a_new_field_with_a_default() -> None:
    assert backward_problems(_named(envelope_schema(_V2WithDefault)), envelope_schema(_V1)) == []


@pytest.mark.parametrize("newer", [_V2Required, _V2TypeChanged])
def test_the_apache_checker_rejects_a_required_new_field_or_a_changed_type(
    newer: type[Event],
) -> None:
    assert backward_problems(_named(envelope_schema(newer)), envelope_schema(_V1)) != []


def test_export_refuses_an_incompatible_change_and_check_reports_it(tmp_path: Path) -> None:
    export_schemas(tmp_path)
    assert check_schemas(tmp_path) == []
    # Pretend the previous committed version had `quantity` as a string.
    older = json.loads((tmp_path / "order.filled.avsc").read_text())
    payload = next(f for f in older["fields"] if f["name"] == "data")["type"]
    next(f for f in payload["fields"] if f["name"] == "quantity")["type"] = "string"
    for path in (tmp_path / "order.filled.avsc", tmp_path / "history" / "order.filled" / "v1.avsc"):
        path.write_text(canonical_json(older))
    drift = check_schemas(tmp_path)
    assert any("order.filled.avsc differs" in p and "not BACKWARD" in p for p in drift)
    with pytest.raises(SchemaIncompatible, match="order.filled"):
        export_schemas(tmp_path)
    assert export_schemas(tmp_path, force=True)["order.filled"] == "written (v2)"
    assert any("order.filled: v2 cannot read v1 data" in p for p in check_schemas(tmp_path))
    assert export_schemas(tmp_path, force=True)["order.filled"] == "unchanged"


def _samples() -> list[Envelope[Any]]:
    signal = TradingSignal(strategy_id="m", instrument_token=5, side=Side.SELL, quantity=3,
                           reference_price=Decimal("10.05"), order_type=OrderType.LIMIT,
                           limit_price=Decimal("10.00"))  # fmt: skip
    data: list[Event] = [
        MarketTick(instrument_token=5, last_price=Decimal("10.05"), symbol="INFY",
                   ohlc=Ohlc(open=Decimal(1), high=Decimal(2), low=Decimal("0.5"), close=Decimal(1)),
                   depth=Depth(buy=[DepthLevel(price=Decimal("10"), quantity=4, orders=1)])),
        signal,
        ValidatedSignal(signal_id="s", client_order_id="c", signal=signal,
                        trading_state=TradingState.REDUCING),
        RejectedSignal(signal_id="s", signal=signal, reason=RejectReason.PRICE_COLLAR),
        OrderFilled(client_order_id="c", broker_order_id="b", fill_id="f", strategy_id="m",
                    instrument_token=5, side=Side.BUY, quantity=1, price=Decimal("1.5"),
                    cumulative_quantity=1, order_quantity=1, average_price=Decimal("1.5"),
                    final=True, charges=Charges(brokerage=Decimal("20"), gst=Decimal("3.6"))),
    ]  # fmt: skip
    return [new_envelope(d, source="test", broker="paper", key="k") for d in data]


@pytest.mark.parametrize("env", _samples(), ids=lambda e: e.type)
def test_envelopes_round_trip_through_their_avro_schema(env: Envelope[Any]) -> None:
    parsed = fastavro.parse_schema(envelope_schema(EVENT_TYPES[env.type]))
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parsed, msgspec.to_builtins(env))
    value = wire.encode(17, buf.getvalue())
    schema_id, body = wire.decode(value)
    back = fastavro.schemaless_reader(io.BytesIO(body), parsed, None)
    assert schema_id == 17
    cls = EVENT_TYPES[env.type]
    assert msgspec.convert(back, Envelope[cls]) == env  # type: ignore[valid-type]


def test_wire_format_rejects_values_without_the_magic_byte() -> None:
    assert wire.is_wire_format(wire.encode(1, b"x"))
    assert not wire.is_wire_format(b'{"id": 1}')
    with pytest.raises(ValueError, match="magic byte"):
        wire.decode(b'{"id": 1}')


def test_an_enum_that_was_a_string_stays_a_string_in_avro() -> None:
    def data_field(event: type[Event], name: str) -> Any:
        payload = next(f for f in envelope_schema(event)["fields"] if f["name"] == "data")
        return next(f for f in payload["type"]["fields"] if f["name"] == name)["type"]

    assert data_field(ControlCommand, "verb") == "string"
    assert data_field(OrderFailed, "reason") == "string"
    assert data_field(RejectedSignal, "reason")["type"] == "enum"  # an enum from the start


def test_each_topic_class_has_one_schema() -> None:
    assert event_type_for_topic("paper.orders.filled") == "order.filled"
    assert event_type_for_topic("zerodha.orders.filled") == "order.filled"
    assert event_type_for_topic("market.ticks") == "market.tick"
    assert event_type_for_topic("market.ticks.dlq") == "dead.letter"
    assert event_type_for_topic("paper.unknown.topic") is None
