"""Signals forged by an outsider on the bus are refused for their reason or priced by the market.

`alpha-panda up` runs without its feed on a NATS of its own (no authentication: anyone may
publish); the test publishes the ticks itself and then, as a user of plain NATS would,
signals of its own making. Every one of them claims the market is at 100.05. None is
filled at a claimed price: a strategy that is not configured, an instrument outside the
strategy's list, a tick that MARKET does not hold for the instrument or that is too old are
refused; a signal naming a real tick is valued by risk and filled by execution at that
tick's prices, walking its depth (partial_fills). Trading goes on: a real crossover after
all this is filled as usual. Every figure is computed by hand below.

The ticks (depth as Kite's full mode carries it; MIS charges, Zerodha's default table):

    R1  RELIANCE 738561  last 1400.00  bid 1399.95 x 500   ask 1400.05 x 500
    M1  MARUTI  2815745  last 12500.00 bids 12499.95 x 12, 12499.90 x 10, 12499.85 x 5
                                       ask 12500.05 x 184
    HDFCBANK 341249: 1000, 999, 998, 997, 999, 1002 (bid last - 0.10, ask last + 0.10,
    500 each): SMA2/SMA4 cross up on 1002.00, a BUY of 1 lot (tests/e2e/test_bad_input.py)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from schemas.enums import OrderFailReason, OrderType, RejectReason, Side
from schemas.envelope import Envelope, new_envelope
from schemas.events import (
    Charges,
    Depth,
    DepthLevel,
    Event,
    MarketTick,
    OrderFailed,
    OrderFilled,
    RejectedSignal,
    TradingSignal,
    ValidatedSignal,
)
from schemas.ids import generate_event_id
from schemas.names import tick_subject
from supervisors.bus import Bus
from tests.conftest import NatsServer
from tests.e2e.conftest import (
    AlphaPanda,
    connected,
    eventually,
    find_actor,
    read_stream,
    status,
    subject_counts,
    tree_running,
)

D = Decimal
RELIANCE, MARUTI, HDFCBANK, TCS = 738561, 2815745, 341249, 2953217
R = RejectReason
BUY, SELL = Side.BUY, Side.SELL
MAX_AGE_MS = 4000
STRATEGIES = """\
- id: mom-trust
  type: momentum
  instruments: [RELIANCE, MARUTI, HDFCBANK]
  params: {fast_window: 2, slow_window: 4}
"""


def levels(*rows: tuple[str, int]) -> list[DepthLevel]:
    return [DepthLevel(price=D(p), quantity=q, orders=1) for p, q in rows]


R1 = MarketTick(
    instrument_token=RELIANCE, symbol="RELIANCE", last_price=D("1400.00"),
    depth=Depth(buy=levels(("1399.95", 500)), sell=levels(("1400.05", 500))),
)  # fmt: skip
M1 = MarketTick(
    instrument_token=MARUTI, symbol="MARUTI", last_price=D("12500.00"),
    depth=Depth(
        buy=levels(("12499.95", 12), ("12499.90", 10), ("12499.85", 5)),
        sell=levels(("12500.05", 184)),
    ),
)  # fmt: skip


def hdfc(price: str) -> MarketTick:
    last = D(price)
    return MarketTick(
        instrument_token=HDFCBANK, symbol="HDFCBANK", last_price=last,
        depth=Depth(buy=levels((str(last - D("0.10")), 500)),
                    sell=levels((str(last + D("0.10")), 500))),
    )  # fmt: skip


def claim(
    strategy: str, token: int, side: Side, quantity: int, tick: tuple[int, str],
    limit: str | None = None,
) -> TradingSignal:  # fmt: skip
    """A signal as a forger writes it: every price says the market is at 100.05."""
    seq, tick_id = tick
    return TradingSignal(
        strategy_id=strategy, instrument_token=token, side=side, quantity=quantity,
        reference_price=D("100.05"), bid=D("100.00"), ask=D("100.05"),
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        limit_price=D(limit) if limit else None, tick_seq=seq, tick_id=tick_id,
    )  # fmt: skip


async def publish_tick(bus: Bus, tick: MarketTick) -> tuple[int, str]:
    """Publish a tick as the feed would; its MARKET sequence and envelope id."""
    env = new_envelope(tick, source="e2e-feed", key=str(tick.instrument_token))
    return await bus.publish(tick_subject(tick.instrument_token), env), env.id


async def forge(bus: Bus, data: Event, subject: str = "paper.signals.raw") -> str:
    """Publish `data` as an outsider with plain NATS would; its envelope id."""
    env = new_envelope(data, source="intruder", broker="paper")
    await bus.publish(subject, env)
    return env.id


@pytest.fixture
async def running_system(
    alpha_panda: Callable[..., AlphaPanda], fresh_nats: NatsServer, tmp_path: Path
) -> AsyncIterator[tuple[AlphaPanda, Bus]]:
    strategies = tmp_path / "strategies.yaml"
    strategies.write_text(STRATEGIES)
    app = alpha_panda(
        nats_url=fresh_nats.url,
        strategies=strategies,
        roles=("control", "portfolio", "execution", "risk", "strategies"),
        risk_limits={"max_signal_tick_age_ms": MAX_AGE_MS},
        paper={"partial_fills": True, "max_signal_tick_age_ms": MAX_AGE_MS},
    )
    async with connected(fresh_nats.url) as bus:
        await eventually(lambda: tree_running(bus), "the supervision tree to start", app=app)
        yield app, bus


def charges(brokerage: str, stt: str, exchange: str, sebi: str, stamp: str, gst: str) -> Charges:
    return Charges(
        brokerage=D(brokerage), stt=D(stt), exchange_txn=D(exchange), sebi=D(sebi),
        stamp_duty=D(stamp), gst=D(gst),
    )  # fmt: skip


# -- the fills, by hand ------------------------------------------------------------------------
# A BUY 10 RELIANCE claiming ask 100.05, naming R1: R1's best ask 1400.05 quotes 500 >= 10,
# one fill of 10 @ 1400.05. T = 14000.50:
#   brokerage 0.03% T = 4.20015 -> 4.20; STT (MIS buy) 0
#   exchange 0.00307% T = 0.42981535 -> 0.43; SEBI 0.0001% T = 0.0140005 -> 0.01
#   stamp 0.003% T = 0.420015 -> 0.42
#   GST 0.18 x (4.20015 + 0.00297% T 0.41581485 + 0.0140005) = 0.18 x 4.62996535
#       = 0.8333937... -> 0.83                                   total 5.89
# A SELL 30 MARUTI claiming bid 100.00, naming M1: the bids quote 12 + 10 + 5 = 27; a market
# order sweeps them and the 3 beyond the depth go with the last level's fill:
#   12 @ 12499.95 (149999.40), 10 @ 12499.90 (124999.00), 8 @ 12499.85 (99998.80)
# Charges are the order's after a fill minus before it (the brokerage cap is per order);
# cumulative turnover C = 149999.40, 274998.40, 374997.20:
#   brokerage min(20, 0.03% C): 44.99982 -> 20 already on the first fill: 20.00, 0, 0
#   STT 0.025% C = 37.49985 -> 37.50, 68.7496 -> 68.75, 93.7493 -> 93.75: 37.50, 31.25, 25.00
#   exchange 0.00307% C = 4.60498158 -> 4.60, 8.44245088 -> 8.44, 11.51241404 -> 11.51:
#            4.60, 3.84, 3.07
#   SEBI 0.0001% C = 0.1499994 -> 0.15, 0.2749984 -> 0.27, 0.3749972 -> 0.37: 0.15, 0.12, 0.10
#   stamp (sell) 0
#   GST 0.18 x (20 + 0.00297% C + SEBI unrounded):
#       0.18 x (20 + 4.45498218 + 0.1499994) = 0.18 x 24.60498158 = 4.4288966... -> 4.43
#       0.18 x (20 + 8.16745248 + 0.2749984) = 0.18 x 28.44245088 = 5.1196411... -> 5.12
#       0.18 x (20 + 11.13741684 + 0.3749972) = 0.18 x 31.51241404 = 5.6722345... -> 5.67
#       per fill 4.43, 0.69, 0.55
#   totals 66.68, 35.90, 28.72 = 131.30, the order's 20 + 93.75 + 11.51 + 0.37 + 5.67
# The real crossover: BUY 1 HDFCBANK on the 1002.00 tick, at its ask 1002.10. T = 1002.10:
#   brokerage 0.30063 -> 0.30; exchange 0.03076447 -> 0.03; SEBI 0.0010021 -> 0.00
#   stamp 0.030063 -> 0.03; GST 0.18 x (0.30063 + 0.02976237 + 0.0010021) = 0.0596510... -> 0.06
FORGED_FILLS = [
    # (instrument, side, quantity, price, cumulative, final, charges)
    (RELIANCE, BUY, 10, "1400.05", 10, True, charges("4.20", "0", "0.43", "0.01", "0.42", "0.83")),
    (MARUTI, SELL, 12, "12499.95", 12, False, charges("20.00", "37.50", "4.60", "0.15", "0", "4.43")),
    (MARUTI, SELL, 10, "12499.90", 22, False, charges("0", "31.25", "3.84", "0.12", "0", "0.69")),
    (MARUTI, SELL, 8, "12499.85", 30, True, charges("0", "25.00", "3.07", "0.10", "0", "0.55")),
]  # fmt: skip
GENUINE_FILL = (HDFCBANK, BUY, 1, "1002.10", 1, True, charges("0.30", "0", "0.03", "0", "0.03", "0.06"))  # fmt: skip
# every price a fill may carry: the ticks' levels; the forged 100.00 / 100.05 are not among them
MARKET_PRICES = {D(p) for p in ("1400.05", "12499.95", "12499.90", "12499.85", "1002.10")}


def fill_facts(f: OrderFilled) -> tuple[Any, ...]:
    return (f.instrument_token, f.side, f.quantity, f.price, f.cumulative_quantity, f.final,
            f.charges)  # fmt: skip


def expected_fill(row: tuple[Any, ...]) -> tuple[Any, ...]:
    token, side, qty, price, cumulative, final, fees = row
    return (token, side, qty, D(price), cumulative, final, fees)


async def events_on(bus: Bus, subject: str) -> list[Envelope[Any]]:
    return [env for s, env in await read_stream(bus, "PAPER") if s == subject]


@pytest.mark.timeout(90)
async def test_forged_signals_are_refused_or_priced_by_the_market_and_trading_goes_on(
    running_system: tuple[AlphaPanda, Bus],
) -> None:
    app, bus = running_system
    r1, m1 = await publish_tick(bus, R1), await publish_tick(bus, M1)
    no_such_tick = (1_000_000, "")
    ids = {
        "intruder": await forge(bus, claim("intruder-unconfigured", RELIANCE, BUY, 10, r1)),
        "not its instrument": await forge(bus, claim("mom-trust", TCS, BUY, 10, r1)),
        "cheap market buy": await forge(bus, claim("mom-trust", RELIANCE, BUY, 10, r1)),
        "cheap limit": await forge(bus, claim("mom-trust", RELIANCE, BUY, 10, r1, "100.05")),
        "cheap but large": await forge(bus, claim("mom-trust", RELIANCE, BUY, 1000, r1)),
        "no such tick": await forge(bus, claim("mom-trust", RELIANCE, BUY, 10, no_such_tick)),
        "another's tick": await forge(bus, claim("mom-trust", RELIANCE, BUY, 10, m1)),
        "forged tick id": await forge(bus, claim("mom-trust", RELIANCE, BUY, 10, (r1[0], "01FAKE"))),
        "sell into the depth": await forge(bus, claim("mom-trust", MARUTI, SELL, 30, m1)),
    }  # fmt: skip
    # straight to execution, past risk: execution vouches for the tick itself
    bypass = claim("mom-trust", RELIANCE, BUY, 10, no_such_tick)
    bypass_id = generate_event_id()
    await forge(
        bus,
        ValidatedSignal(signal_id=bypass_id, client_order_id=bypass_id, signal=bypass),
        "paper.signals.validated",
    )

    async def answered() -> bool:
        counts = await subject_counts(bus, "PAPER")
        return (
            counts.get("paper.signals.rejected", 0) >= 7
            and counts.get("paper.orders.filled", 0) >= 4
            and counts.get("paper.orders.failed", 0) >= 1
        )

    await eventually(answered, "risk's and execution's answers to the forgeries", app=app)

    rejected = {e.data.signal_id: e for e in await events_on(bus, "paper.signals.rejected")}
    assert {
        name: (rejected[i].data.reason, rejected[i].data.detail)
        for name, i in ids.items()
        if i in rejected
    } == {
        "intruder": (
            R.UNKNOWN_STRATEGY,
            "strategy 'intruder-unconfigured' is not configured and enabled for this broker; "
            "only the strategies of the configuration (strategies.yaml or the strategies "
            "table) may trade",
        ),
        "not its instrument": (
            R.INSTRUMENT_NOT_ALLOWED,
            f"strategy 'mom-trust' does not trade instrument {TCS}; add it to the strategy's "
            "instruments to trade it",
        ),
        # |100.05 - 1400.00| x 100 / 1400.00 = 92.853...% from R1's last price
        "cheap limit": (R.PRICE_COLLAR, "limit 100.05 is 92.85% from reference 1400.00 (collar 5%)"),
        # 1000 x 1400.00: at the claimed 100.05 it would have been 100050.00, under the limit
        "cheap but large": (R.MAX_ORDER_NOTIONAL, "notional 1400000.00 > 500000"),
        "no such tick": (R.UNKNOWN_TICK, "MARKET holds no message at sequence 1000000"),
        "another's tick": (
            R.UNKNOWN_TICK,
            f"MARKET sequence {m1[0]} is market.ticks.{MARUTI}, not a tick of instrument "
            f"{RELIANCE}",
        ),
        "forged tick id": (R.UNKNOWN_TICK, f"MARKET sequence {r1[0]} holds tick {r1[1]}, not 01FAKE"),
    }  # fmt: skip
    for env in rejected.values():
        assert env.causation_id == env.data.signal_id, "the rejection names the forged envelope"
    validated = [e.data.signal_id for e in await events_on(bus, "paper.signals.validated")]
    # risk's two in the order of the signals; the bypass lands wherever it was published
    assert [i for i in validated if i != bypass_id] == [
        ids["cheap market buy"], ids["sell into the depth"]
    ]  # fmt: skip
    assert bypass_id in validated

    fills = [e.data for e in await events_on(bus, "paper.orders.filled")]
    assert [fill_facts(f) for f in fills] == [expected_fill(r) for r in FORGED_FILLS]
    assert [f.client_order_id for f in fills] == [ids["cheap market buy"]] + 3 * [
        ids["sell into the depth"]
    ]
    assert [f.charges.total for f in fills] == [D("5.89"), D("66.68"), D("35.90"), D("28.72")]
    [failed] = [e.data for e in await events_on(bus, "paper.orders.failed")]
    assert isinstance(failed, OrderFailed)
    assert (failed.client_order_id, failed.reason, failed.detail) == (
        bypass_id, OrderFailReason.UNKNOWN_TICK, "MARKET holds no message at sequence 1000000"
    )  # fmt: skip

    # -- trading goes on: the configured strategy's own crossover fills at the market -------
    for price in ("1000.00", "999.00", "998.00", "997.00", "999.00", "1002.00"):
        crossing = await publish_tick(bus, hdfc(price))

    async def genuine_filled() -> bool:
        return (await subject_counts(bus, "PAPER")).get("paper.orders.filled", 0) >= 5

    await eventually(genuine_filled, "the crossover's fill", app=app)
    raw = [e for e in await events_on(bus, "paper.signals.raw") if e.source == "strategies-paper"]
    [genuine] = raw
    assert (genuine.data.strategy_id, genuine.data.side, genuine.data.quantity) == (
        "mom-trust", BUY, 1
    )  # fmt: skip
    # the runner named the tick it computed on: the 1002.00 tick's MARKET sequence and id
    assert (genuine.data.tick_seq, genuine.data.tick_id) == crossing
    last = [e.data for e in await events_on(bus, "paper.orders.filled")][-1]
    assert (last.client_order_id, fill_facts(last)) == (genuine.id, expected_fill(GENUINE_FILL))

    # -- a copy of that real signal under an unconfigured strategy (what an outsider does) ---
    body = json.loads(await copy_of(bus, genuine.id))
    body["id"] = generate_event_id()
    body["data"]["strategy_id"] = "intruder-unconfigured"
    await bus.publish_raw(
        "paper.signals.raw", json.dumps(body).encode(), {"Nats-Msg-Id": f"forged:{body['id']}"}
    )
    # -- and a signal naming R1 once it is older than max_signal_tick_age_ms -----------------
    await asyncio.sleep(MAX_AGE_MS / 1000 + 0.5)
    stale_id = await forge(bus, claim("mom-trust", RELIANCE, BUY, 1, r1))

    async def both_refused() -> bool:
        return (await subject_counts(bus, "PAPER")).get("paper.signals.rejected", 0) >= 9

    await eventually(both_refused, "the copy's and the stale signal's rejections", app=app)
    answers = {e.data.signal_id: e.data for e in await events_on(bus, "paper.signals.rejected")}
    copy, stale = answers[body["id"]], answers[stale_id]
    assert isinstance(copy, RejectedSignal) and isinstance(stale, RejectedSignal)
    assert copy.reason is R.UNKNOWN_STRATEGY
    assert stale.reason is R.STALE_TICK
    assert stale.detail.startswith(f"tick {r1[0]} is ")
    assert stale.detail.endswith(f"ms older than the signal (max_signal_tick_age_ms {MAX_AGE_MS})")

    fills = [e.data for e in await events_on(bus, "paper.orders.filled")]
    assert len(fills) == 5 and {f.price for f in fills} <= MARKET_PRICES, "no forged price"
    tree = await status(bus)
    assert tree is not None
    risk = find_actor(tree["tree"], "risk-paper")
    assert (risk["state"], risk["restarts"], risk["failed"]) == ("running", 0, 0)
    assert risk["pipeline"]["rejections"] == {
        "UNKNOWN_STRATEGY": 2, "INSTRUMENT_NOT_ALLOWED": 1, "PRICE_COLLAR": 1,
        "MAX_ORDER_NOTIONAL": 1, "UNKNOWN_TICK": 3, "STALE_TICK": 1,
    }  # fmt: skip
    assert await subject_counts(bus, "DLQ") == {}, "refusals, not poison messages"
    assert await app.stop() == 0


async def copy_of(bus: Bus, envelope_id: str) -> bytes:
    """The raw bytes of a stored paper.signals.raw message, as an outsider would read them."""
    async for msg in bus.replay("PAPER", ["paper.signals.raw"], 1):
        if envelope_id.encode() in msg.data:
            return bytes(msg.data)
    raise AssertionError(f"no raw signal {envelope_id}")
