"""The Kite feed's parts that need no reactor: the bridge queue, the shard plan, frame
splitting, the feed's selection and the fail-fast start without credentials."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from actors.instruments import InstrumentBook
from actors.kite.feed import KiteFeed
from actors.kite.feed_config import KiteFeedConfig, KiteFeedConfigError, plan_shards
from actors.kite.feed_frames import BadPacket, split_frame
from actors.kite.feed_queue import BridgeQueue
from actors.kite.packets import encode_frame, encode_packet
from ops.config_loading import load_domain_config
from ops.settings import load_settings
from ops.tree import _feed_maker
from schemas.events import MarketTick

INFY = 408065
ROOT = Path(__file__).resolve().parents[3]


async def test_a_full_queue_drops_and_counts_and_never_grows() -> None:
    queue: BridgeQueue[int] = BridgeQueue(100, asyncio.get_running_loop())
    producer = threading.Thread(target=lambda: [queue.put(i) for i in range(10_000)])
    producer.start()
    producer.join()
    assert len(queue) == 100 and queue.dropped == 9_900 and queue.high_water == 100
    assert await queue.get_batch(30) == list(range(30))  # the oldest, in order
    assert queue.put(-1) and len(queue) == 71


async def test_a_waiting_consumer_is_woken_from_another_thread() -> None:
    queue: BridgeQueue[str] = BridgeQueue(10, asyncio.get_running_loop())
    getter = asyncio.create_task(queue.get_batch(5))
    await asyncio.sleep(0.01)
    threading.Thread(target=queue.put, args=("tick",)).start()
    assert await asyncio.wait_for(getter, 10) == ["tick"]


def test_tokens_are_sharded_by_3000_over_at_most_3_connections() -> None:
    plan = plan_shards(range(1, 9_001))
    assert [len(s) for s in plan] == [3_000, 3_000, 3_000]
    assert plan_shards([5, 3, 5, 1], per_connection=2) == [[1, 3], [5]]
    with pytest.raises(KiteFeedConfigError, match=r"9,001 instruments.*3 connections of 3,000"):
        plan_shards(range(1, 9_002))
    with pytest.raises(KiteFeedConfigError, match="no instruments"):
        plan_shards([])


def test_the_feed_config_refuses_what_kite_does_not_allow() -> None:
    with pytest.raises(ValueError, match="max_per_connection"):
        KiteFeedConfig(max_per_connection=3_001)
    with pytest.raises(ValueError, match="mode"):
        KiteFeedConfig(mode="fast")


def test_a_frame_splits_into_good_ticks_and_the_one_bad_packet() -> None:
    tick = MarketTick(instrument_token=INFY, last_price=Decimal("1500.05"))
    good = encode_packet(tick, "ltp")
    frame = encode_frame([good, b"\x00\x06\x3a\x01" + b"\x00" * 6, good])
    first, bad, last = split_frame(frame)
    assert isinstance(first, MarketTick) and first.last_price == Decimal("1500.05")
    assert isinstance(bad, BadPacket) and bad.token == INFY and "10 bytes" in bad.error
    assert last == first
    (truncated,) = split_frame(frame[:2] + frame[2:7])
    assert isinstance(truncated, BadPacket) and "truncated" in truncated.error
    assert split_frame(b"\x00") == []  # a heartbeat


def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("KITE_", "ALPHA_PANDA_")):
            monkeypatch.delenv(name)


def test_the_feed_defaults_to_kite_with_the_zerodha_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    _clean_env(monkeypatch)
    assert load_settings().feed_source == "mock"
    monkeypatch.setenv("ALPHA_PANDA_BROKERS", "paper,zerodha")
    assert load_settings().feed_source == "kite"
    monkeypatch.setenv("ALPHA_PANDA_FEED", "mock")  # an explicit choice stands
    assert load_settings().feed_source == "mock"


async def test_the_tree_subscribes_kite_to_what_the_strategies_trade(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _clean_env(monkeypatch)
    monkeypatch.setenv("ALPHA_PANDA_FEED", "kite")
    monkeypatch.setenv("KITE_API_KEY", "key")
    monkeypatch.setenv("KITE_ACCESS_TOKEN", "token")
    monkeypatch.setenv("ALPHA_PANDA_KITE_FEED", '{"stall_s": 2.5}')
    settings = load_settings()
    domain = await load_domain_config(settings)
    feed = _feed_maker(settings, domain)()
    assert isinstance(feed, KiteFeed) and feed.kite.stall_s == 2.5
    traded = {t for c in domain.strategies if c.enabled and "paper" in c.brokers for t in c.tokens}
    assert traded and [t for shard in feed.plan for t in shard] == sorted(traded)
    assert set(traded) <= {i.instrument_token for i in InstrumentBook.default()}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ALPHA_PANDA_FEED": "kite"}, "KITE_API_KEY"),
        ({"ALPHA_PANDA_BROKERS": "paper,zerodha"}, "KITE_API_KEY"),
        ({"ALPHA_PANDA_FEED": "kite", "KITE_API_KEY": "k"}, "alpha-panda zerodha login"),
        (
            {
                "ALPHA_PANDA_FEED": "kite",
                "KITE_API_KEY": "k",
                "KITE_ACCESS_TOKEN": "t",
                "KITE_WS_ROOT": "http://127.0.0.1:1",
            },
            "KITE_WS_ROOT",
        ),
    ],
)
def test_up_with_the_kite_feed_and_no_credentials_exits_naming_the_variable(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KITE_", "ALPHA_PANDA_"))}
    run = subprocess.run(
        [sys.executable, "-m", "ops.cli", "up", "--duration", "1"],
        env=base | env | {"ALPHA_PANDA_DATA_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert run.returncode != 0
    assert named in run.stderr and "Traceback" not in run.stderr + run.stdout


def test_status_shows_the_kite_feeds_connections() -> None:
    from ops.commands.status import render_tree
    from supervisors.status import StatusNode

    node = StatusNode(name="market-feed", state="running", figures={"kite": {"connections_up": 2}})
    assert render_tree(node)[0].endswith("\n    kite: connections_up=2")
