"""A scripted trading session through the real paper pipeline, checked against hand arithmetic.

`alpha-panda up` replays `data/pipeline_ticks.csv` (two instruments, 21 ticks) into the
strategies of `data/pipeline_strategies.yaml`, under risk limits chosen so that specific
signals are refused for specific reasons, with 5 bps of paper slippage. Every figure below
is computed by hand in the comments; the test compares the whole PAPER stream, the final
PnL snapshot and the file ledger with them, money as Decimal.

The market, tick by tick (bid = last - 0.10, ask = last + 0.10 on every row):

    HDFCBANK 341249   t1 1000.00  t2 999.00  t3 998.00  t4 997.00  t5 999.00  t6 1002.00
    INFY     408065   u1 1500.00  u2 1499.00  u3 1498.00  u4 1497.00  u5 1500.00  u6 1503.00
    HDFCBANK          t7 1001.00  t8 998.00
    INFY              u7 1504.00  u8 1499.00  u9 1497.00  u10 1498.00  u11 1503.00
    -- two seconds later (replay speed 1): the closing marks --
    HDFCBANK 996.00   INFY 1505.00

Momentum SMA2/SMA4: once four prices are in, the sign of SMA2 - SMA4 is the sign of
(p3 + p4) - (p1 + p2) over the last four; a trade happens only when that sign flips
(a zero leaves it as it was; the first full window only sets it).

    HDFCBANK  t4 [1000,999,998,997]  1995-1999 = -4   sign -  (first window: no trade)
              t5 [999,998,997,999]   1996-1997 = -1   -
              t6 [998,997,999,1002]  2001-1995 = +6   +  CROSS UP   SMA2 1000.50, SMA4 999.00
              t7 [997,999,1002,1001] 2003-1996 = +7   +
              t8 [999,1002,1001,998] 1999-2001 = -2   -  CROSS DOWN SMA2 999.50,  SMA4 1000.00
              mark [1002,1001,998,996] 1994-2003 = -9 -  (no trade)
    INFY      u4 [1500,1499,1498,1497] 2995-2999 = -4  -  (first window)
              u5 [1499,1498,1497,1500] 2997-2997 = 0   stays -  (equal averages flip nothing)
              u6 [1498,1497,1500,1503] 3003-2995 = +8  +  CROSS UP   SMA2 1501.50, SMA4 1499.50
              u7 [1497,1500,1503,1504] 3007-2997 = +10 +
              u8 [1500,1503,1504,1499] 3003-3003 = 0   stays +
              u9 [1503,1504,1499,1497] 2996-3007 = -11 -  CROSS DOWN SMA2 1498.00, SMA4 1500.75
              u10 [1504,1499,1497,1498] 2995-3003 = -8 -
              u11 [1499,1497,1498,1503] 3001-2996 = +5 +  CROSS UP   SMA2 1500.50, SMA4 1499.25
              mark [1497,1498,1503,1505] 3008-2995 = +13 + (no trade)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from actors.stores.ledger_rows import FillRow
from schemas.enums import OrderType, RejectReason, Side
from schemas.events import (
    Charges,
    OrderAccepted,
    OrderFilled,
    OrderSubmitted,
    PnlSnapshot,
    PositionView,
    RejectedSignal,
    StrategyPnl,
    TradingSignal,
    ValidatedSignal,
)
from tests.conftest import NatsServer
from tests.e2e.conftest import (
    DATA,
    connected,
    eventually,
    last_seq,
    launch,
    read_stream,
    subject_counts,
)

D = Decimal
HDFCBANK, INFY = 341249, 408065
BUY, SELL = Side.BUY, Side.SELL
TICKS = 21
STARTING_CASH = D("1000000")

RISK_LIMITS = {
    "max_order_notional": "100000",  # mom-infy-big: 100 x 1503.00 = 150300.00 is too much
    "max_position_qty": 60,  # the twin of mom-hdfc would take HDFCBANK to 80 shares
    "price_collar_pct": "0.25",  # 100 ticks = 5.00 rupees off ~1500 is 0.33%
    # A token bucket of 4 that refills one token in 1000 s: the four orders accepted first
    # spend it and the fifth is refused, however fast or slow the machine runs the replay.
    "burst": 4,
    "rate_limit_per_s": "0.001",
    # out of reach: these depend on when fills come back, not only on the ticks
    "max_open_orders": 100,
    "max_gross_exposure": "100000000",
    "daily_loss_limit": "100000000",
}
PAPER = {"slippage_bps": "5"}  # 0.05% against the trader, then rounded to the 0.05 grid


# -- the signals, in the order of the ticks (and of the strategy list on one tick) ---------
#    (strategy, instrument, side, quantity, reference = last price, order type, limit,
#     bid, ask, reason)
#
# A strategy's position is its *intended* one: mom-hdfc-twin and mom-infy-big believe they
# are long after their refused buys, so they sell on the next cross down, and are refused
# again. mom-hdfc may go short (allow_short), so on the cross down it sells 40 to close and
# 40 to open a short: 80. The LIMIT strategy prices 100 ticks x 0.05 = 5.00 through the last
# price: 1503.00 + 5.00 = 1508.00 to buy, 1497.00 - 5.00 = 1492.00 to sell.
UP_HDFC = "SMA2 1000.50 crossed above SMA4 999.00"
DOWN_HDFC = "SMA2 999.50 crossed below SMA4 1000.00"
UP_INFY_1 = "SMA2 1501.50 crossed above SMA4 1499.50"
DOWN_INFY = "SMA2 1498.00 crossed below SMA4 1500.75"
UP_INFY_2 = "SMA2 1500.50 crossed above SMA4 1499.25"
MKT, LMT = OrderType.MARKET, OrderType.LIMIT
SIGNALS = [
    # t6 HDFCBANK 1002.00 (bid 1001.90, ask 1002.10)
    ("mom-hdfc", HDFCBANK, BUY, 40, "1002.00", MKT, None, "1001.90", "1002.10", UP_HDFC),
    ("mom-hdfc-twin", HDFCBANK, BUY, 40, "1002.00", MKT, None, "1001.90", "1002.10", UP_HDFC),
    # u6 INFY 1503.00 (bid 1502.90, ask 1503.10)
    ("mom-infy", INFY, BUY, 50, "1503.00", MKT, None, "1502.90", "1503.10", UP_INFY_1),
    ("mom-infy-big", INFY, BUY, 100, "1503.00", MKT, None, "1502.90", "1503.10", UP_INFY_1),
    ("mom-infy-limit", INFY, BUY, 5, "1503.00", LMT, "1508.00", "1502.90", "1503.10", UP_INFY_1),
    # t8 HDFCBANK 998.00 (bid 997.90, ask 998.10)
    ("mom-hdfc", HDFCBANK, SELL, 80, "998.00", MKT, None, "997.90", "998.10", DOWN_HDFC),
    ("mom-hdfc-twin", HDFCBANK, SELL, 40, "998.00", MKT, None, "997.90", "998.10", DOWN_HDFC),
    # u9 INFY 1497.00 (bid 1496.90, ask 1497.10)
    ("mom-infy", INFY, SELL, 50, "1497.00", MKT, None, "1496.90", "1497.10", DOWN_INFY),
    ("mom-infy-big", INFY, SELL, 100, "1497.00", MKT, None, "1496.90", "1497.10", DOWN_INFY),
    ("mom-infy-limit", INFY, SELL, 5, "1497.00", LMT, "1492.00", "1496.90", "1497.10", DOWN_INFY),
    # u11 INFY 1503.00 (bid 1502.90, ask 1503.10)
    ("mom-infy", INFY, BUY, 50, "1503.00", MKT, None, "1502.90", "1503.10", UP_INFY_2),
    ("mom-infy-big", INFY, BUY, 100, "1503.00", MKT, None, "1502.90", "1503.10", UP_INFY_2),
    ("mom-infy-limit", INFY, BUY, 5, "1503.00", LMT, "1508.00", "1502.90", "1503.10", UP_INFY_2),
]

# -- the risk manager's answers, by signal index ---------------------------------------------
# Checks run in order collar, notional, position, ..., rate; the first failure is the reason.
# The projected position counts accepted orders before they fill, so the verdicts do not
# depend on when fills come back.
REJECTED = {
    # HDFCBANK projected +40 (mom-hdfc's buy) + 40 = 80 > 60
    1: (RejectReason.MAX_POSITION, "position 80 beyond 60"),
    # 100 x 1503.00 = 150300.00 > 100000
    3: (RejectReason.MAX_ORDER_NOTIONAL, "notional 150300.00 > 100000"),
    # |1508.00 - 1503.00| x 100 / 1503.00 = 0.3326...% > 0.25%
    4: (RejectReason.PRICE_COLLAR, "limit 1508.00 is 0.33% from reference 1503.00 (collar 0.25%)"),
    # HDFCBANK projected +40 - 80 = -40, then -40 - 40 = -80: |-80| > 60 and growing
    6: (RejectReason.MAX_POSITION, "position -80 beyond 60"),
    # 100 x 1497.00 = 149700.00 > 100000 (the collar passes first: a market order is at 0%)
    8: (RejectReason.MAX_ORDER_NOTIONAL, "notional 149700.00 > 100000"),
    # |1492.00 - 1497.00| x 100 / 1497.00 = 0.3340...% > 0.25%
    9: (RejectReason.PRICE_COLLAR, "limit 1492.00 is 0.33% from reference 1497.00 (collar 0.25%)"),
    # signals 0, 2, 5 and 7 took the 4 tokens; this one passes every other check
    # (INFY projected 0 -> 50 <= 60, 50 x 1503.00 = 75150.00 <= 100000)
    10: (RejectReason.RATE_LIMIT, "over 0.001/s (burst 4)"),
    11: (RejectReason.MAX_ORDER_NOTIONAL, "notional 150300.00 > 100000"),
    12: (RejectReason.PRICE_COLLAR, "limit 1508.00 is 0.33% from reference 1503.00 (collar 0.25%)"),
}
ACCEPTED = [0, 2, 5, 7]

# -- the fills: market orders take the touch the strategy saw, plus 5 bps, on the grid -----
#   buy  = ceil(ask x 1.0005 / 0.05) x 0.05 ;  sell = floor(bid x 0.9995 / 0.05) x 0.05
#   F1 HDFCBANK BUY 40:  1002.10 x 1.0005 = 1002.60105 -> 20052.02 ticks -> 20053 -> 1002.65
#   F2 INFY BUY 50:      1503.10 x 1.0005 = 1503.85155 -> 30077.03 ticks -> 30078 -> 1503.90
#   F3 HDFCBANK SELL 80:  997.90 x 0.9995 =  997.40105 -> 19948.02 ticks -> 19948 ->  997.40
#   F4 INFY SELL 50:     1496.90 x 0.9995 = 1496.15155 -> 29923.03 ticks -> 29923 -> 1496.15
#
# Charges (MIS, Zerodha's default table), turnover T = quantity x price, each rounded to
# the paisa half up; GST = 18% of (unrounded brokerage + 0.00297% T + SEBI), exchange
# reported with IPFT (0.00297% + 0.0001% = 0.00307%):
#   F1 T = 40 x 1002.65 = 40106.00
#      brokerage min(20, 0.03% T = 12.0318) = 12.03; STT (buy, MIS) 0
#      exchange 0.00307% T = 1.2312542 -> 1.23; SEBI 0.0001% T = 0.040106 -> 0.04
#      stamp 0.003% T = 1.20318 -> 1.20
#      GST 0.18 x (12.0318 + 1.1911482 + 0.040106) = 0.18 x 13.2630542 = 2.3873... -> 2.39
#      total 12.03 + 1.23 + 0.04 + 1.20 + 2.39 = 16.89
#   F2 T = 50 x 1503.90 = 75195.00
#      brokerage 0.03% T = 22.5585, capped at 20.00; STT 0
#      exchange 2.3084865 -> 2.31; SEBI 0.075195 -> 0.08; stamp 2.25585 -> 2.26
#      GST 0.18 x (20 + 2.2332915 + 0.075195) = 0.18 x 22.3084865 = 4.0155... -> 4.02
#      total 20.00 + 2.31 + 0.08 + 2.26 + 4.02 = 28.67
#   F3 T = 80 x 997.40 = 79792.00
#      brokerage 23.9376 -> cap 20.00; STT (MIS sell) 0.025% T = 19.948 -> 19.95
#      exchange 2.4496144 -> 2.45; SEBI 0.079792 -> 0.08; stamp (sell) 0
#      GST 0.18 x (20 + 2.3698224 + 0.079792) = 0.18 x 22.4496144 = 4.0409... -> 4.04
#      total 20.00 + 19.95 + 2.45 + 0.08 + 4.04 = 46.52
#   F4 T = 50 x 1496.15 = 74807.50
#      brokerage 22.44225 -> cap 20.00; STT 18.701875 -> 18.70
#      exchange 2.29659025 -> 2.30; SEBI 0.0748075 -> 0.07; stamp 0
#      GST 0.18 x (20 + 2.22178275 + 0.0748075) = 0.18 x 22.29659025 = 4.0133... -> 4.01
#      total 20.00 + 18.70 + 2.30 + 0.07 + 4.01 = 45.08
FILLS = [
    # (signal index, strategy, instrument, side, quantity, price,
    #  brokerage, stt, exchange_txn, sebi, stamp_duty, gst)
    (0, "mom-hdfc", HDFCBANK, BUY, 40, "1002.65", "12.03", "0", "1.23", "0.04", "1.20", "2.39"),
    (2, "mom-infy", INFY, BUY, 50, "1503.90", "20.00", "0", "2.31", "0.08", "2.26", "4.02"),
    (5, "mom-hdfc", HDFCBANK, SELL, 80, "997.40", "20.00", "19.95", "2.45", "0.08", "0", "4.04"),
    (7, "mom-infy", INFY, SELL, 50, "1496.15", "20.00", "18.70", "2.30", "0.07", "0", "4.01"),
]
FILL_TOTALS = [D("16.89"), D("28.67"), D("46.52"), D("45.08")]

# -- the books at the end ------------------------------------------------------------------
# HDFCBANK: buy 40 @ 1002.65 -> +40, cost 40106.00
#           sell 80 @ 997.40 closes the 40: realized 40 x 997.40 - 40106.00 = -210.00,
#           and opens -40 at 997.40: cost -39896.00, average 997.40
#           marked at the last tick 996.00: unrealized -40 x 996.00 + 39896.00 = +56.00
# INFY:     buy 50 @ 1503.90 (cost 75195.00), sell 50 @ 1496.15 (74807.50):
#           realized 74807.50 - 75195.00 = -387.50; flat, so never marked again: its last
#           price stays that of its last fill, 1496.15
# realized -210.00 - 387.50 = -597.50;  unrealized +56.00
# charges 16.89 + 28.67 + 46.52 + 45.08 = 137.16
# cash 1000000 - 40106.00 - 75195.00 + 79792.00 + 74807.50 - 137.16 = 1039161.34
# equity cash + (-40 x 996.00) = 1039161.34 - 39840.00 = 999321.34
#        = 1000000 + realized - 597.50 + unrealized 56.00 - charges 137.16 (the identity)
# per instrument, charges F1 + F3 = 16.89 + 46.52 = 63.41 (HDFCBANK) and F2 + F4 = 28.67 +
# 45.08 = 73.75 (INFY); turnover 40106.00 + 79792.00 = 119898.00 and 75195.00 + 74807.50 =
# 150002.50; two fills each. One strategy trades each instrument, so the strategy books are
# these positions and mom-hdfc / mom-infy carry their figures.
FINAL_POSITIONS = [
    PositionView(
        instrument_token=HDFCBANK, symbol="HDFCBANK", quantity=-40,
        average_price=D("997.40"), last_price=D("996.00"),
        realized_pnl=D("-210.00"), unrealized_pnl=D("56.00"),
        charges=D("63.41"), turnover=D("119898.00"), fills=2,
    ),
    PositionView(
        instrument_token=INFY, symbol="INFY", quantity=0,
        average_price=D("0"), last_price=D("1496.15"),
        realized_pnl=D("-387.50"), unrealized_pnl=D("0"),
        charges=D("73.75"), turnover=D("150002.50"), fills=2,
    ),
]  # fmt: skip
FINAL_STRATEGIES = [
    StrategyPnl(strategy_id="mom-hdfc", realized_pnl=D("-210.00"), unrealized_pnl=D("56.00"),
                charges=D("63.41"), turnover=D("119898.00"), fills=2, open_positions=1),
    StrategyPnl(strategy_id="mom-infy", realized_pnl=D("-387.50"), unrealized_pnl=D("0"),
                charges=D("73.75"), turnover=D("150002.50"), fills=2, open_positions=0),
]  # fmt: skip
FINAL = {
    "realized_pnl": D("-597.50"),
    "unrealized_pnl": D("56.00"),
    "charges": D("137.16"),
    "cash": D("1039161.34"),
    "equity": D("999321.34"),
    "fills": 4,
}

EXPECTED_COUNTS = {
    "paper.signals.raw": len(SIGNALS),
    "paper.signals.validated": len(ACCEPTED),
    "paper.signals.rejected": len(REJECTED),
    "paper.orders.submitted": len(FILLS),
    "paper.orders.accepted": len(FILLS),
    "paper.orders.filled": len(FILLS),
}


def charges(brokerage: str, stt: str, exchange: str, sebi: str, stamp: str, gst: str) -> Charges:
    return Charges(
        brokerage=D(brokerage), stt=D(stt), exchange_txn=D(exchange), sebi=D(sebi),
        stamp_duty=D(stamp), gst=D(gst),
    )  # fmt: skip


def signal_facts(s: TradingSignal) -> tuple[Any, ...]:
    return (
        s.strategy_id, s.instrument_token, s.side, s.quantity, s.reference_price, s.order_type,
        s.limit_price, s.bid, s.ask, s.reason,
    )  # fmt: skip


def expected_signal_facts(row: tuple[Any, ...]) -> tuple[Any, ...]:
    strategy, token, side, qty, ref, kind, limit, bid, ask, reason = row
    return (
        strategy, token, side, qty, D(ref), kind, D(limit) if limit else None, D(bid), D(ask),
        reason,
    )  # fmt: skip


def view_facts(p: PositionView) -> tuple[Any, ...]:
    return msgspec.structs.astuple(p)


@pytest.fixture(scope="module")
async def session(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    """Run the scripted session once, on a NATS of its own, and hand its record to the tests."""
    server = NatsServer()
    server.start()
    app = launch(
        tmp_path_factory.mktemp("pipeline"),
        nats_url=server.url,
        strategies=DATA / "pipeline_strategies.yaml",
        feed=f"replay:{DATA / 'pipeline_ticks.csv'}",
        risk_limits=RISK_LIMITS,
        paper=PAPER,
        extra={"ALPHA_PANDA_REPLAY_SPEED": "1", "ALPHA_PANDA_STARTING_CASH": str(STARTING_CASH)},
    )
    try:
        async with connected(server.url) as bus:

            async def all_events_stored() -> bool:
                counts = await subject_counts(bus, "PAPER")
                done = all(counts.get(s, 0) >= n for s, n in EXPECTED_COUNTS.items())
                return done and await last_seq(bus, "MARKET") >= TICKS

            await eventually(all_events_stored, "every tick, signal and order event", app=app)
            # Two more PnL intervals, so that a snapshot is taken after the closing marks.
            seen = (await subject_counts(bus, "PAPER")).get("paper.pnl.snapshots", 0)

            async def two_more_snapshots() -> bool:
                counts = await subject_counts(bus, "PAPER")
                return counts.get("paper.pnl.snapshots", 0) >= seen + 2

            await eventually(two_more_snapshots, "two more PnL snapshots", timeout_s=5, app=app)
            exit_code = await app.stop()
            yield {
                "exit_code": exit_code,
                "log": app.output(),
                "paper": await read_stream(bus, "PAPER"),
                "dlq": await read_stream(bus, "DLQ"),
                "ledger": app.data_dir / "ledger",
            }
    finally:
        app.kill()
        server.cleanup()


def events(session: dict[str, Any], subject: str) -> list[Any]:
    """The payloads stored on one subject of the PAPER stream, in stream order."""
    return [env.data for s, env in session["paper"] if s == subject]


def signal_ids(session: dict[str, Any]) -> list[str]:
    """The envelope id of every raw signal: the risk manager's signal and client order id."""
    return [env.id for s, env in session["paper"] if s == "paper.signals.raw"]


def test_alpha_panda_stops_cleanly_on_sigterm_and_dead_letters_nothing(
    session: dict[str, Any],
) -> None:
    assert session["exit_code"] == 0, f"SIGTERM is a clean stop:\n{session['log']}"
    assert session["dlq"] == [], "no input of the session was dead-lettered"


def test_every_signal_is_the_hand_computed_crossover(session: dict[str, Any]) -> None:
    signals = events(session, "paper.signals.raw")
    assert all(isinstance(s, TradingSignal) for s in signals)
    assert [signal_facts(s) for s in signals] == [expected_signal_facts(r) for r in SIGNALS]


def test_the_risk_manager_refuses_each_signal_for_the_hand_computed_reason(
    session: dict[str, Any],
) -> None:
    ids, signals = signal_ids(session), events(session, "paper.signals.raw")
    validated = events(session, "paper.signals.validated")
    assert all(isinstance(v, ValidatedSignal) for v in validated)
    assert [(v.signal_id, v.client_order_id) for v in validated] == [
        (ids[i], ids[i]) for i in ACCEPTED
    ]
    rejected = events(session, "paper.signals.rejected")
    assert all(isinstance(r, RejectedSignal) for r in rejected)
    assert {ids.index(r.signal_id): (r.reason, r.detail) for r in rejected} == REJECTED
    assert [r.signal for r in rejected] == [signals[i] for i in sorted(REJECTED)]


def test_every_accepted_signal_fills_once_at_the_touch_plus_slippage_with_its_charges(
    session: dict[str, Any],
) -> None:
    ids = signal_ids(session)
    submitted = events(session, "paper.orders.submitted")
    assert all(isinstance(o, OrderSubmitted) for o in submitted)
    assert [(o.client_order_id, o.strategy_id, o.side, o.quantity) for o in submitted] == [
        (ids[i], strategy, side, qty) for i, strategy, _, side, qty, *_ in FILLS
    ]
    accepted = events(session, "paper.orders.accepted")
    assert all(isinstance(a, OrderAccepted) for a in accepted)
    assert [a.client_order_id for a in accepted] == [ids[i] for i in ACCEPTED]
    fills = events(session, "paper.orders.filled")
    assert all(isinstance(f, OrderFilled) for f in fills)
    assert [
        (f.client_order_id, f.fill_id, f.strategy_id, f.instrument_token, f.side, f.quantity,
         f.price, f.cumulative_quantity, f.average_price, f.final, f.charges)
        for f in fills
    ] == [
        (ids[i], f"{ids[i]}-F1", strategy, token, side, qty, D(price), qty, D(price), True,
         charges(*components))
        for i, strategy, token, side, qty, price, *components in FILLS
    ]  # fmt: skip
    assert [f.charges.total for f in fills] == FILL_TOTALS


def test_the_last_pnl_snapshot_holds_the_hand_computed_positions_and_account(
    session: dict[str, Any],
) -> None:
    final = events(session, "paper.pnl.snapshots")[-1]
    assert isinstance(final, PnlSnapshot)
    assert [view_facts(p) for p in final.positions] == [view_facts(p) for p in FINAL_POSITIONS]
    assert {k: getattr(final, k) for k in FINAL} == FINAL
    assert final.strategies == FINAL_STRATEGIES
    assert [(p.strategy_id, *view_facts(p)[:7]) for p in final.strategy_positions] == [
        (s, *view_facts(p)[:7])
        for s, p in zip(("mom-hdfc", "mom-infy"), FINAL_POSITIONS, strict=True)
    ]
    assert final.turnover == D("269900.50")
    assert final.equity == STARTING_CASH + final.realized_pnl + final.unrealized_pnl - final.charges


def test_the_ledger_holds_every_fill_of_the_session_exactly_once(
    session: dict[str, Any],
) -> None:
    ledger: Path = session["ledger"]
    rows = [
        msgspec.json.decode(line, type=FillRow)
        for line in (ledger / "fills.jsonl").read_bytes().splitlines()
    ]
    fills = events(session, "paper.orders.filled")
    assert len(rows) == len({r.fill_id for r in rows}) == len(FILLS)
    assert sorted((r.fill_id, r.side, r.quantity, r.price, r.charges) for r in rows) == sorted(
        (f.fill_id, str(f.side), f.quantity, f.price, f.charges) for f in fills
    )
    assert {r.broker for r in rows} == {"paper"}
