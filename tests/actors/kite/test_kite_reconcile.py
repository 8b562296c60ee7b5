"""Reconciliation on hand-made reports shaped like Kite's samples (kiteconnect-mocks)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from actors.kite.reconcile import LedgerOrder, OurLedger, reconcile
from actors.kite.reports import KiteReports, kite_price
from schemas.enums import OrderStatus, Side

INFY, TCS, SBIN = 408065, 2953217, 779521


def order(
    order_id: str,
    tag: str | None,
    token: int = INFY,
    symbol: str = "INFY",
    side: str = "BUY",
    quantity: int = 10,
    filled: int = 10,
    status: str = "COMPLETE",
    average_price: float = 1234.55,
) -> dict[str, Any]:
    """An order-book row with the fields of Kite's orders.json sample."""
    return {
        "placed_by": "XXXXXX",
        "order_id": order_id,
        "exchange_order_id": f"1{order_id}",
        "parent_order_id": None,
        "status": status,
        "status_message": None,
        "order_timestamp": "2026-12-01 09:16:00",
        "variety": "regular",
        "exchange": "NSE",
        "tradingsymbol": symbol,
        "instrument_token": token,
        "order_type": "MARKET",
        "transaction_type": side,
        "validity": "DAY",
        "product": "MIS",
        "quantity": quantity,
        "disclosed_quantity": 0,
        "price": 0,
        "trigger_price": 0,
        "average_price": average_price if filled else 0,
        "filled_quantity": filled,
        "pending_quantity": quantity - filled if status == "OPEN" else 0,
        "cancelled_quantity": 0,
        "market_protection": 0,
        "meta": {},
        "tag": tag,
        "tags": [tag] if tag else [],
        "guid": f"g-{order_id}",
    }


def trade(
    trade_id: str,
    order_id: str,
    quantity: int,
    price: float,
    token: int = INFY,
    symbol: str = "INFY",
    side: str = "BUY",
) -> dict[str, Any]:
    """A trade-book row with the fields of Kite's trades.json sample."""
    return {
        "trade_id": trade_id,
        "order_id": order_id,
        "exchange": "NSE",
        "tradingsymbol": symbol,
        "instrument_token": token,
        "product": "MIS",
        "average_price": price,
        "quantity": quantity,
        "exchange_order_id": f"1{order_id}",
        "transaction_type": side,
        "fill_timestamp": "2026-12-01 09:16:01",
        "order_timestamp": "09:16:01",
        "exchange_timestamp": "2026-12-01 09:16:01",
    }


def position(token: int, symbol: str, quantity: int, product: str = "MIS") -> dict[str, Any]:
    return {
        "tradingsymbol": symbol,
        "exchange": "NSE",
        "instrument_token": token,
        "product": product,
        "quantity": quantity,
        "overnight_quantity": 0,
        "multiplier": 1,
        "average_price": 1234.55,
        "buy_quantity": max(quantity, 0),
        "sell_quantity": max(-quantity, 0),
    }


def holding(token: int, symbol: str, quantity: int, t1: int = 0) -> dict[str, Any]:
    """A holdings row with the fields of Kite's holdings.json sample."""
    return {
        "tradingsymbol": symbol,
        "exchange": "NSE",
        "instrument_token": token,
        "isin": "INE000000000",
        "product": "CNC",
        "price": 0,
        "quantity": quantity,
        "used_quantity": 0,
        "t1_quantity": t1,
        "realised_quantity": quantity,
        "opening_quantity": quantity + t1,
        "average_price": 429,
    }


def reports(
    orders: list[dict[str, Any]] | None = None,
    trades: list[dict[str, Any]] | None = None,
    positions: list[dict[str, Any]] | None = None,
    holdings: list[dict[str, Any]] | None = None,
) -> KiteReports:
    return KiteReports(
        orders=[] if orders is None else orders,
        trades=[] if trades is None else trades,
        positions=[] if positions is None else positions,
        holdings=[] if holdings is None else holdings,
        fetched_ns=1,
    )


def mine(
    tag: str = "ap01",
    broker_order_id: str | None = "1001",
    filled: int = 10,
    is_open: bool = False,
    token: int = INFY,
    side: Side = Side.BUY,
) -> LedgerOrder:
    return LedgerOrder(f"cid-{tag}", tag, broker_order_id, token, side, 10, filled, is_open)


def ledger(*orders: LedgerOrder, positions: dict[int, int] | None = None) -> OurLedger:
    return OurLedger(orders={o.tag: o for o in orders}, positions=positions or {})


def test_a_ledger_that_matches_kite_is_ok_and_adopts_nothing() -> None:
    kite = reports(
        orders=[order("1001", "ap01")],
        trades=[trade("T1", "1001", 10, 1234.55)],
        positions=[position(INFY, "INFY", 10)],
    )
    result = reconcile(kite, ledger(mine(), positions={INFY: 10}))
    assert result.ok
    assert result.halt_reason is None
    assert result.matched == 1
    assert not (result.adopted or result.placed_unseen or result.unknown)
    assert not (result.position_diffs or result.missing_reports)
    assert result.summary().startswith("zerodha reconciled: 1 matched")


def test_fills_made_while_we_were_down_are_adopted_with_their_trades_at_exact_prices() -> None:
    # we recorded the ack and the first 4 shares; Kite filled the rest in two trades
    kite = reports(
        orders=[order("1001", "ap01", average_price=1234.5667)],
        trades=[
            trade("T1", "1001", 4, 1234.55),
            trade("T2", "1001", 3, 1234.6),
            trade("T3", "1001", 3, 1234.55),
        ],
        positions=[position(INFY, "INFY", 10)],
    )
    result = reconcile(kite, ledger(mine(filled=4, is_open=True), positions={INFY: 4}))
    assert result.ok, result.halt_reason
    (adopted,) = result.adopted
    assert adopted.client_order_id == "cid-ap01"
    assert adopted.broker_order_id == "1001"
    assert adopted.order_status is OrderStatus.FILLED
    assert adopted.filled_quantity == 10
    assert adopted.recorded_filled_quantity == 4
    assert adopted.average_price == Decimal("1234.57")  # paise, half-even
    assert [(t.trade_id, t.quantity, t.price) for t in adopted.new_trades] == [
        ("T2", 3, Decimal("1234.60")),
        ("T3", 3, Decimal("1234.55")),
    ]


def test_recorded_trade_ids_decide_which_trades_are_new() -> None:
    kite = reports(
        orders=[order("1001", "ap01")],
        trades=[trade("T1", "1001", 5, 1234.55), trade("T2", "1001", 5, 1234.55)],
        positions=[position(INFY, "INFY", 10)],
    )
    ours = LedgerOrder("cid", "ap01", "1001", INFY, Side.BUY, 10, 5, True, fill_ids=("T2",))
    result = reconcile(kite, ledger(ours, positions={INFY: 5}))
    assert result.ok
    assert [t.trade_id for t in result.adopted[0].new_trades] == ["T1"]


def test_a_lost_acknowledgement_is_adopted_with_kites_order_id() -> None:
    kite = reports(orders=[order("1001", "ap01", filled=0, status="OPEN")])
    result = reconcile(kite, ledger(mine(broker_order_id=None, filled=0, is_open=True)))
    assert result.ok
    (adopted,) = result.adopted
    assert (adopted.broker_order_id, adopted.order_status) == ("1001", OrderStatus.ACCEPTED)
    assert adopted.new_trades == []


def test_an_order_placed_before_a_crash_maps_to_its_client_order_id_through_the_tag_map() -> None:
    kite = reports(
        orders=[order("1002", "ap02", quantity=5, filled=5)],
        trades=[trade("T9", "1002", 5, 1500.05)],
        positions=[position(INFY, "INFY", 5)],
    )
    result = reconcile(kite, ledger(), tag_map={"ap02": "01JCLIENT"})
    assert result.ok, result.halt_reason
    (unseen,) = result.placed_unseen
    assert unseen.client_order_id == "01JCLIENT"
    assert unseen.broker_order_id == "1002"
    assert [(t.trade_id, t.price) for t in unseen.new_trades] == [("T9", Decimal("1500.05"))]
    # a callable map works the same
    assert reconcile(kite, ledger(), tag_map={"ap02": "01JCLIENT"}.get).ok


def test_a_placed_unseen_order_without_a_tag_map_is_flagged_and_its_fills_halt() -> None:
    resting = reports(orders=[order("1002", "ap02", filled=0, status="OPEN")])
    result = reconcile(resting, ledger())
    assert result.ok  # nothing filled: flagged only
    assert result.placed_unseen[0].client_order_id is None
    filled = reports(
        orders=[order("1002", "ap02")],
        trades=[trade("T9", "1002", 10, 1500.0)],
        positions=[position(INFY, "INFY", 10)],
    )
    result = reconcile(filled, ledger())
    assert not result.ok
    assert result.position_diffs[0].ours == 0
    assert result.position_diffs[0].kite == 10


def test_an_unknown_tag_with_our_prefix_is_foreign_when_the_tag_map_lacks_it() -> None:
    kite = reports(orders=[order("1003", "apZZ", filled=0, status="OPEN")])
    result = reconcile(kite, ledger(), tag_map={})
    assert result.ok
    assert [(f.broker_order_id, f.reason) for f in result.unknown] == [("1003", "unknown tag")]
    assert result.placed_unseen == []


def test_foreign_orders_are_flagged_and_shown_but_keep_the_result_ok() -> None:
    kite = reports(
        orders=[
            order("2001", None, token=TCS, symbol="TCS", filled=0, status="OPEN"),
            order("2002", "manual", token=TCS, symbol="TCS", filled=0, status="CANCELLED"),
        ]
    )
    result = reconcile(kite, ledger())
    assert result.ok
    assert [(f.broker_order_id, f.reason, f.is_open) for f in result.unknown] == [
        ("2001", "untagged", True),
        ("2002", "foreign tag", False),
    ]
    status = result.to_status()
    json.dumps(status)
    assert status["unknown"][0]["tradingsymbol"] == "TCS"


def test_a_foreign_position_in_an_instrument_we_trade_halts_naming_it() -> None:
    kite = reports(
        orders=[order("1001", "ap01"), order("2001", None, quantity=5, filled=5)],
        trades=[trade("T1", "1001", 10, 1234.55), trade("T2", "2001", 5, 1234.55)],
        positions=[position(INFY, "INFY", 15)],
    )
    result = reconcile(kite, ledger(mine(), positions={INFY: 10}))
    assert not result.ok
    assert result.halt_reason is not None
    assert result.halt_reason.startswith("zerodha halted: position mismatch INFY ours 10 Kite 15")
    assert "alpha-panda resume --broker zerodha" in result.halt_reason


def test_a_position_kite_does_not_hold_halts_with_both_quantities() -> None:
    flat = reconcile(reports(), ledger(positions={INFY: 10}))
    assert not flat.ok
    assert flat.halt_reason is not None
    # no report names the instrument, so its token stands in for the symbol
    assert "position mismatch 408065 ours 10 Kite 0" in flat.halt_reason
    diff = flat.position_diffs[0]
    assert (diff.instrument_token, diff.ours, diff.kite) == (INFY, 10, 0)


@pytest.mark.parametrize("name", ["orders", "trades", "positions", "holdings"])
def test_a_missing_report_is_not_a_flat_position_and_halts_naming_it(name: str) -> None:
    full: dict[str, Any] = {"orders": [], "trades": [], "positions": [], "holdings": []}
    kite = KiteReports(**(full | {name: None}), fetched_ns=1)
    result = reconcile(kite, ledger())  # an empty ledger would match empty reports
    assert not result.ok
    assert result.missing_reports == [name]
    assert result.halt_reason is not None
    assert f"missing: {name}" in result.halt_reason
    assert result.position_diffs == []


def test_a_malformed_report_counts_as_missing() -> None:
    bad = reports(positions=[{"tradingsymbol": "INFY", "quantity": 3}])
    result = reconcile(bad, ledger())
    assert not result.ok
    assert result.missing_reports == [
        "positions (malformed: row 0 has instrument_token None, not a whole number)"
    ]


def test_holdings_count_for_instruments_we_trade_and_are_flagged_otherwise() -> None:
    kite = reports(
        holdings=[holding(SBIN, "SBIN", 11, t1=7), holding(INFY, "INFY", 4, t1=6)],
        positions=[position(INFY, "INFY", -2, product="CNC")],  # sold 2 of them today
    )
    result = reconcile(kite, ledger(positions={INFY: 8}))
    assert result.ok, result.halt_reason
    assert [(p.tradingsymbol, p.quantity, p.source) for p in result.foreign_positions] == [
        ("SBIN", 18, "holdings")
    ]
    assert not reconcile(kite, ledger(positions={INFY: 10})).ok


def test_the_same_tag_twice_at_kite_is_a_conflict_that_halts() -> None:
    kite = reports(
        orders=[order("1001", "ap01"), order("1009", "ap01")],
        trades=[trade("T1", "1001", 10, 1234.55), trade("T2", "1009", 10, 1234.55)],
        positions=[position(INFY, "INFY", 20)],
    )
    result = reconcile(kite, ledger(mine(), positions={INFY: 10}))
    assert not result.ok
    assert result.conflicts[0].problem == "at Kite twice (1001, 1009)"
    assert result.halt_reason is not None
    assert "order conflict ap01" in result.halt_reason


def test_kite_disagreeing_with_the_ledger_on_an_order_is_a_conflict() -> None:
    kite = reports(
        orders=[order("1001", "ap01", side="SELL")],
        trades=[trade("T1", "1001", 10, 1234.55, side="SELL")],
        positions=[position(INFY, "INFY", -10)],
    )
    result = reconcile(kite, ledger(mine(), positions={INFY: 10}))
    assert not result.ok
    assert "our ledger BUY" in result.conflicts[0].problem
    assert result.adopted == []


def test_a_cancelled_order_with_a_partial_fill_is_adopted_as_cancelled() -> None:
    kite = reports(
        orders=[order("1001", "ap01", filled=4, status="CANCELLED")],
        trades=[trade("T1", "1001", 4, 1234.55)],
        positions=[position(INFY, "INFY", 4)],
    )
    result = reconcile(kite, ledger(mine(filled=4, is_open=True), positions={INFY: 4}))
    assert result.ok
    (adopted,) = result.adopted
    assert adopted.order_status is OrderStatus.CANCELLED
    assert adopted.new_trades == []


def test_an_open_ledger_order_kite_does_not_list_is_flagged() -> None:
    result = reconcile(reports(), ledger(mine(broker_order_id=None, filled=0, is_open=True)))
    assert result.ok
    assert [n.client_order_id for n in result.not_at_kite] == ["cid-ap01"]


def test_kite_prices_become_exact_decimals() -> None:
    assert kite_price(1234.55) == Decimal("1234.55")
    assert kite_price(0.1 + 0.2) == Decimal("0.30")
    assert kite_price(8.466) == Decimal("8.47")
    assert kite_price(261) == Decimal("261.00")
    assert kite_price(None) == Decimal("0.00")
    with pytest.raises(ValueError, match="finite"):
        kite_price(float("nan"))


def test_status_json_carries_prices_as_strings() -> None:
    kite = reports(
        orders=[order("1001", "ap01")],
        trades=[trade("T1", "1001", 10, 1234.55)],
        positions=[position(INFY, "INFY", 10)],
    )
    status = reconcile(kite, ledger(mine(filled=0, is_open=True))).to_status()
    assert status["adopted"][0]["new_trades"][0]["price"] == "1234.55"
    assert status["ok"] is True
    assert json.loads(json.dumps(status)) == status


def test_symbols_passed_by_the_caller_name_instruments_no_report_names() -> None:
    result = reconcile(reports(), ledger(positions={INFY: 10}), symbols={INFY: "INFY"})
    assert result.halt_reason is not None
    assert result.halt_reason.startswith("zerodha halted: position mismatch INFY ours 10 Kite 0;")


@pytest.mark.parametrize(
    ("kite_order", "kite_trades", "ours", "problem"),
    [
        (  # Kite's trade book lags its order book: the fills cannot be told apart yet
            order("1001", "ap01", filled=10),
            [trade("T1", "1001", 4, 1234.55)],
            mine(filled=0, is_open=True),
            "Kite filled 10 but its trades add up to 4",
        ),
        (  # our ledger holds fills Kite never made
            order("1001", "ap01", filled=2, status="OPEN"),
            [trade("T1", "1001", 2, 1234.55)],
            mine(filled=5, is_open=True),
            "Kite filled 2, our ledger 5",
        ),
        (  # we closed it, Kite can still fill it
            order("1001", "ap01", filled=0, status="OPEN"),
            [],
            mine(filled=0, is_open=False),
            "open at Kite (OPEN) but closed in our ledger",
        ),
        (  # the tag points at another Kite order than the one we recorded
            order("1002", "ap01"),
            [trade("T1", "1002", 10, 1234.55)],
            mine(),
            "Kite's order id 1002, our ledger's 1001",
        ),
    ],
)
def test_an_order_kite_and_the_ledger_disagree_on_halts_naming_the_problem(
    kite_order: dict[str, Any], kite_trades: list[dict[str, Any]], ours: LedgerOrder, problem: str
) -> None:
    result = reconcile(reports(orders=[kite_order], trades=kite_trades), ledger(ours))
    assert not result.ok
    assert [c.problem for c in result.conflicts] == [problem]
    assert result.halt_reason is not None
    assert f"order conflict ap01: {problem}" in result.halt_reason
    assert not result.adopted


def test_a_rejected_order_is_adopted_as_rejected_with_kites_message() -> None:
    rejected = order("1001", "ap01", filled=0, status="REJECTED") | {
        "status_message": "Insufficient funds"
    }
    result = reconcile(reports(orders=[rejected]), ledger(mine(filled=0, is_open=True)))
    assert result.ok
    (adopted,) = result.adopted
    assert adopted.order_status is OrderStatus.REJECTED
    assert adopted.status_message == "Insufficient funds"


def test_without_the_trade_book_nothing_is_adopted() -> None:
    kite = KiteReports([order("1001", "ap01")], None, [], [], 1)
    result = reconcile(kite, ledger(mine(filled=0, is_open=True)))
    assert not result.ok
    assert result.missing_reports == ["trades"]
    assert not (result.adopted or result.placed_unseen or result.position_diffs)
