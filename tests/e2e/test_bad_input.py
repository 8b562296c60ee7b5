"""Bad input at every door: it is refused or dead-lettered with the reason, never a crash.

- ticks that cannot be decoded or must not be traded on, published into the running system,
  land in the DLQ naming the problem while the strategy runner carries on;
- a strategy that raises is isolated from the strategies beside it and counted;
- a signal with a negative quantity is rejected by the risk manager as INVALID_SIGNAL;
- a broken strategies file or risk limit stops `alpha-panda up` before it starts, with exit
  code 2 and one line on stderr naming the file (or variable), the culprit and the fix.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from actors.instruments import InstrumentBook
from actors.strategies.config import parse_strategies
from actors.strategies.runner import StrategyRunner
from ops.bootstrap import bootstrap_streams
from schemas.enums import RejectReason, Side
from schemas.envelope import encode, new_envelope
from schemas.events import DeadLetter, MarketTick, RejectedSignal, TradingSignal
from schemas.names import tick_subject
from supervisors.bus import Bus
from supervisors.runner import ActorProcess
from tests.conftest import NatsServer
from tests.e2e.conftest import (
    AlphaPanda,
    connected,
    eventually,
    find_actor,
    payloads,
    read_stream,
    run_alpha_panda_up,
    status,
    subject_counts,
    tree_running,
)

D = Decimal
HDFCBANK = 341249
TICK_DLQ = f"dlq.market.ticks.{HDFCBANK}"

ONE_MOMENTUM = """\
- id: trend-hdfc
  type: momentum
  instruments: [HDFCBANK]
  params: {fast_window: 2, slow_window: 4}
"""
# SMA2/SMA4 on 1000, 999, 998, 997 (sign -), 999 (-), 1002: (999 + 1002) - (998 + 997) > 0,
# the averages cross: SMA2 1000.50 above SMA4 999.00, a BUY of 1 lot.
WARM_UP = ("1000.00", "999.00", "998.00", "997.00")
CROSS_UP = ("999.00", "1002.00")
CROSS_REASON = "SMA2 1000.50 crossed above SMA4 999.00"


def tick(price: str, token: int = HDFCBANK) -> MarketTick:
    return MarketTick(instrument_token=token, last_price=D(price), symbol="HDFCBANK")


async def publish_tick(bus: Bus, data: MarketTick, subject: str = tick_subject(HDFCBANK)) -> None:
    await bus.publish(subject, new_envelope(data, source="e2e-feed", key=str(HDFCBANK)))


def envelope_without(field: str) -> bytes:
    """A market.tick envelope whose payload lacks a required field (the wrong schema)."""
    body = json.loads(encode(new_envelope(tick("1000.00"), source="e2e-feed")))
    del body["data"][field]
    return json.dumps(body).encode()


# (what is wrong, raw message body, the error type and the words the dead letter must carry)
BAD_TICKS: list[tuple[str, Callable[[], bytes], str, str]] = [
    ("bad JSON", lambda: b"{not json", "DecodeError", "malformed JSON for market.tick envelope"),
    (
        "wrong schema",
        lambda: envelope_without("last_price"),
        "DecodeError",
        "missing required field `last_price`",
    ),
    (
        "price off the tick grid",
        lambda: encode(new_envelope(tick("1000.03"), source="e2e-feed")),
        "InvalidTick",
        "OFF_TICK_GRID: HDFCBANK last_price 1000.03 is not a multiple of the tick size 0.05",
    ),
    (
        "a body naming another instrument than its subject",
        lambda: encode(new_envelope(tick("1000.00", token=12345), source="e2e-feed")),
        "InvalidTick",
        "SUBJECT_MISMATCH: published on market.ticks.341249 but its body names instrument 12345",
    ),
    (
        "non-positive price",
        lambda: encode(new_envelope(tick("0"), source="e2e-feed")),
        "InvalidTick",
        "NON_POSITIVE_PRICE: HDFCBANK last_price is 0",
    ),
]


@pytest.fixture
async def running_system(
    alpha_panda: Callable[..., AlphaPanda], fresh_nats: NatsServer, tmp_path: Path
) -> AsyncIterator[tuple[AlphaPanda, Bus]]:
    """`alpha-panda up` without its market feed: the test publishes every tick itself."""
    strategies = tmp_path / "strategies.yaml"
    strategies.write_text(ONE_MOMENTUM)
    app = alpha_panda(
        nats_url=fresh_nats.url,
        strategies=strategies,
        roles=("control", "portfolio", "execution", "risk", "strategies"),
    )
    async with connected(fresh_nats.url) as bus:
        await eventually(lambda: tree_running(bus), "the supervision tree to start", app=app)
        yield app, bus


@pytest.mark.timeout(30)
async def test_bad_ticks_are_dead_lettered_with_their_problem_and_trading_goes_on(
    running_system: tuple[AlphaPanda, Bus],
) -> None:
    app, bus = running_system
    for price in WARM_UP:
        await publish_tick(bus, tick(price))
    bodies = [make() for _, make, _, _ in BAD_TICKS]
    for body in bodies:
        await bus.publish_raw(tick_subject(HDFCBANK), body, {})
    for price in CROSS_UP:
        await publish_tick(bus, tick(price))

    async def settled() -> bool:
        dlq, paper = await subject_counts(bus, "DLQ"), await subject_counts(bus, "PAPER")
        return dlq.get(TICK_DLQ, 0) >= len(BAD_TICKS) and paper.get("paper.signals.raw", 0) >= 1

    await eventually(settled, "the dead letters and the signal after them", app=app)

    letters = payloads(
        DeadLetter,
        [env.data for subject, env in await read_stream(bus, "DLQ") if subject == TICK_DLQ],
    )
    assert all(isinstance(letter, DeadLetter) for letter in letters)
    assert len(letters) == len(BAD_TICKS)
    for letter, body, (problem, _, error_type, words) in zip(
        letters, bodies, BAD_TICKS, strict=True
    ):
        assert (letter.original_subject, letter.actor, letter.error_type) == (
            f"market.ticks.{HDFCBANK}",
            "strategies-paper",
            error_type,
        ), problem
        assert words in letter.error, problem
        assert letter.payload == body.decode(), "the original body is kept for a re-drive"

    signals = payloads(
        TradingSignal,
        [e.data for s, e in await read_stream(bus, "PAPER") if s == "paper.signals.raw"],
    )
    assert [(s.strategy_id, s.side, s.quantity, s.reference_price, s.reason) for s in signals] == [
        ("trend-hdfc", Side.BUY, 1, D("1002.00"), CROSS_REASON)
    ], "the bad ticks never reached the averages: the valid ones cross exactly as without them"

    tree = await status(bus)
    assert tree is not None
    runner = find_actor(tree["tree"], "strategies-paper")
    assert (runner["state"], runner["restarts"]) == ("running", 0)
    assert (runner["invalid"], runner["failed"], runner["dead_lettered"]) == (2, 3, 5)
    assert runner["pipeline"]["ticks"] == len(WARM_UP) + len(CROSS_UP)
    assert await app.stop() == 0


@pytest.mark.timeout(30)
async def test_a_signal_with_a_negative_quantity_is_rejected_as_invalid(
    running_system: tuple[AlphaPanda, Bus],
) -> None:
    app, bus = running_system
    # from the configured strategy: one of another would be refused as UNKNOWN_STRATEGY first
    signal = TradingSignal(
        strategy_id="trend-hdfc", instrument_token=HDFCBANK, side=Side.BUY, quantity=-5,
        reference_price=D("1000.00"), symbol="HDFCBANK",
    )  # fmt: skip
    sent = new_envelope(signal, source="e2e", broker="paper", key=str(HDFCBANK))
    await bus.publish("paper.signals.raw", sent)

    async def answered() -> bool:
        return (await subject_counts(bus, "PAPER")).get("paper.signals.rejected", 0) >= 1

    await eventually(answered, "the risk manager's answer", app=app)
    [rejection] = [e.data for s, e in await read_stream(bus, "PAPER") if s.endswith(".rejected")]
    assert isinstance(rejection, RejectedSignal)
    assert (rejection.signal_id, rejection.reason, rejection.detail) == (
        sent.id,
        RejectReason.INVALID_SIGNAL,
        "quantity must be > 0, got -5",
    )
    counts = await subject_counts(bus, "PAPER")
    assert "paper.orders.submitted" not in counts, "nothing reached the broker"
    assert await subject_counts(bus, "DLQ") == {}, "a refusal, not a poison message"
    body = await status(bus)
    assert body is not None
    risk = find_actor(body["tree"], "risk-paper")
    assert (risk["state"], risk["restarts"], risk["failed"]) == ("running", 0, 0)
    assert risk["pipeline"]["rejections"] == {"INVALID_SIGNAL": 1}
    assert await app.stop() == 0


STRATEGIES_WITH_A_FAULTY_ONE = [
    {"id": "steady-a", "type": "momentum", "instruments": ["HDFCBANK"],
     "params": {"fast_window": 2, "slow_window": 4, "lots": 3}},
    {"id": "faulty", "type": "momentum", "instruments": ["HDFCBANK"],
     "params": {"fast_window": 2, "slow_window": 4}},
    {"id": "steady-b", "type": "momentum", "instruments": ["HDFCBANK"],
     "params": {"fast_window": 2, "slow_window": 4, "lots": 7}},
]  # fmt: skip


@pytest.fixture
async def fresh_bus(fresh_nats: NatsServer) -> AsyncIterator[Bus]:
    async with connected(fresh_nats.url) as bus:
        await bootstrap_streams(bus, "test")
        yield bus


@pytest.mark.timeout(30)
async def test_a_strategy_that_raises_is_counted_and_the_others_still_trade(
    fresh_bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    configs = parse_strategies(STRATEGIES_WITH_A_FAULTY_ONE, InstrumentBook.default())
    runner = StrategyRunner("paper", configs, InstrumentBook.default())
    faulty = runner.router.get("faulty")
    assert faulty is not None

    def on_tick(tick: MarketTick, ts_ns: int) -> Any:
        raise ZeroDivisionError("a bug in the faulty strategy")

    monkeypatch.setattr(faulty, "on_tick", on_tick)
    process = ActorProcess(runner, fresh_bus)
    ready = asyncio.Event()
    task = asyncio.create_task(process.run(ready.set))
    try:
        async with asyncio.timeout(10):
            await ready.wait()
        for price in (*WARM_UP, *CROSS_UP):
            await publish_tick(fresh_bus, tick(price))

        async def two_signals() -> bool:
            counts = await subject_counts(fresh_bus, "PAPER")
            return counts.get("paper.signals.raw", 0) >= 2 and runner.ticks == 6

        await eventually(two_signals, "the steady strategies' signals")
        stored = await read_stream(fresh_bus, "PAPER", "paper.signals.raw")
        signals = payloads(TradingSignal, [env.data for _, env in stored])
        assert [(s.strategy_id, s.side, s.quantity, s.reason) for s in signals] == [
            ("steady-a", Side.BUY, 3, CROSS_REASON),
            ("steady-b", Side.BUY, 7, CROSS_REASON),
        ], "the strategy after the faulty one saw every tick too"

        assert runner.strategy_errors == {"faulty": 6}, "one error per tick, counted"
        assert runner.last_strategy_error == (
            "faulty: ZeroDivisionError: a bug in the faulty strategy"
        )
        figures = process.status()
        assert figures["pipeline"]["strategy_errors"] == 6
        assert (figures["failed"], figures["dead_lettered"]) == (0, 0), (
            "the ticks themselves were good: nothing to dead-letter"
        )
        assert process.state == "running"
    finally:
        process.request_stop()
        async with asyncio.timeout(10):
            await task
    assert process.state == "stopped"


# -- configuration refused at start ----------------------------------------------------------

GOOD_FIRST = """\
- id: ok-infy
  type: momentum
  instruments: [INFY]
"""
# (case, the broken strategy that follows GOOD_FIRST from line 4 on, the line stderr names,
#  what it must say)
BROKEN_STRATEGIES = [
    (
        "bad YAML",
        "- id: trend-hdfc\n  type: momentum\n  instruments: [HDFCBANK\n  params: {}\n",
        7,  # the parser notices the unclosed list where the next key starts
        ["not valid YAML", "fix: fix the YAML syntax at that line"],
    ),
    (
        "unknown type",
        "- id: trend-hdfc\n  type: momentom\n  instruments: [HDFCBANK]\n",
        4,
        ["strategy 'trend-hdfc': type: unknown type 'momentom'", "fix: use one of", "momentum"],
    ),
    (
        "unknown instrument",
        "- id: trend-hdfc\n  type: momentum\n  instruments: [HDFCBNK]\n",
        4,
        [
            "strategy 'trend-hdfc': instruments: unknown instrument 'HDFCBNK'",
            "fix: use a symbol or token of the instrument book",
        ],
    ),
    (
        "parameter out of range",
        "- id: trend-hdfc\n  type: momentum\n  instruments: [HDFCBANK]\n"
        "  params: {fast_window: 5, slow_window: 3}\n",
        4,
        [
            "strategy 'trend-hdfc': params.slow_window: must be greater than fast_window (5)",
            "fix: set slow_window to a larger number than fast_window",
        ],
    ),
    (
        "unknown parameter",
        "- id: trend-hdfc\n  type: momentum\n  instruments: [HDFCBANK]\n  params: {fast: 3}\n",
        4,
        [
            "strategy 'trend-hdfc': params.fast: is not a parameter of momentum",
            "fix: remove it or use one of",
            "fast_window",
        ],
    ),
    (
        "parameter of the wrong type",
        "- id: trend-hdfc\n  type: momentum\n  instruments: [HDFCBANK]\n  params: {lots: ten}\n",
        4,
        ["strategy 'trend-hdfc': params.lots: Expected `int`, got `str`", "fix: give a value"],
    ),
]


@pytest.mark.parametrize(
    ("broken", "line", "words"),
    [pytest.param(text, line, words, id=case) for case, text, line, words in BROKEN_STRATEGIES],
)
def test_a_broken_strategies_file_stops_up_with_exit_2_naming_the_file_strategy_and_fix(
    tmp_path: Path, broken: str, line: int, words: list[str]
) -> None:
    strategies = tmp_path / "strategies.yaml"
    strategies.write_text(GOOD_FIRST + broken)
    result = run_alpha_panda_up(tmp_path, strategies=strategies)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith(f"alpha-panda: {strategies}:{line}: "), message
    for expected in words:
        assert expected in message


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        pytest.param(
            {"max_position_qty": -5},
            "ALPHA_PANDA_RISK_LIMITS: risk limit max_position_qty must be a finite number > 0, "
            "got -5; set it to shares per instrument, e.g. 1000",
            id="negative quantity",
        ),
        pytest.param(
            {"daily_loss_limit": "-50000"},
            "ALPHA_PANDA_RISK_LIMITS: risk limit daily_loss_limit must be a finite number > 0, "
            "got -50000; set it to the largest loss in rupees as a positive number, e.g. 50000",
            id="negative amount",
        ),
    ],
)
def test_a_negative_risk_limit_stops_up_with_exit_2_naming_the_field(
    tmp_path: Path, limits: dict[str, Any], expected: str
) -> None:
    strategies = tmp_path / "strategies.yaml"
    strategies.write_text(GOOD_FIRST)
    result = run_alpha_panda_up(tmp_path, strategies=strategies, risk_limits=limits)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"alpha-panda: {expected}"
