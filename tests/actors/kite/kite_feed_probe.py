"""Run the Kite feed actor against a simulator and a NATS server, in a child process, so
Twisted's one-shot global reactor never lives in the test process.

Argument: one JSON object (nats_url, env: the simulator's KITE_* exports, tokens, kite: the
feed's config, stats_path, stop_path, soak: forced reconnects to run, 0 for none; block_loop_s: block the event loop once, after
the first tick, for that long). The feed's
`stats()` is written to `stats_path` as it runs; the run ends when `stop_path` exists (or the
soak is done), and the last line on stdout is a JSON summary.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import httpx
import msgspec
from pydantic import SecretStr

from actors.feed.actor import FeedConfig
from actors.instruments import InstrumentBook
from actors.kite.feed import KiteFeed
from actors.kite.feed_config import KiteFeedConfig
from actors.kite.session import KiteSession
from supervisors.bus import Bus
from supervisors.child import ChildSpec
from supervisors.runner import ActorProcess
from supervisors.supervisor import Supervisor, SupervisorSpec


def _rss_kb() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGESIZE") // 1024


def _write(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def _footprint() -> dict[str, int]:
    gc.collect()
    return {
        "threads": threading.active_count(),
        "tasks": len(asyncio.all_tasks()),
        "traced_kb": tracemalloc.get_traced_memory()[0] // 1024,
        "rss_kb": _rss_kb(),
    }


async def _until(check: Any, what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


async def _soak(feed: KiteFeed, root: str, drops: int) -> dict[str, Any]:
    def kite() -> dict[str, Any]:
        return dict(feed.stats()["kite"])

    shards = len(feed.plan)
    await _until(lambda: kite()["connections_up"] == shards and feed.published > 0, "connect")
    async with httpx.AsyncClient(base_url=root, timeout=10) as http:

        async def drop(n: int) -> None:
            for _ in range(n):
                before = kite()["reconnects"]
                assert (await http.post("/_sim/faults", json={"drop_ws": True})).status_code == 200

                def back(before: int = before) -> bool:
                    now = kite()
                    return bool(
                        now["reconnects"] >= before + shards and now["connections_up"] == shards
                    )

                await _until(back, "a reconnect")

        await drop(10)  # warm up: every lazily made object exists before the baseline
        before, published, started = _footprint(), feed.published, time.monotonic()
        await drop(drops)
        elapsed = time.monotonic() - started
        await _until(lambda: feed.published > published, "ticks after the soak")
        await asyncio.sleep(0.2)
        after = _footprint()
    return {"before": before, "after": after, "elapsed_s": round(elapsed, 2), "drops": drops}


async def main(args: dict[str, Any]) -> dict[str, Any]:
    env = args["env"]
    session = KiteSession(
        api_key=env["KITE_API_KEY"], access_token=SecretStr(env["KITE_ACCESS_TOKEN"]),
        root=env["KITE_ROOT"], ws_root=env["KITE_WS_ROOT"],
    )  # fmt: skip
    kite = msgspec.convert(args.get("kite", {}), KiteFeedConfig)
    config = FeedConfig(mode="kite", kite=kite)
    book = InstrumentBook.default()
    tokens = args.get("tokens") or [i.instrument_token for i in book]
    feed = KiteFeed(config, book, session, tokens)
    bus = await Bus.connect(args["nats_url"], name="kite-feed-probe")
    spec = SupervisorSpec(
        name="market", children=[ChildSpec("market-feed", lambda: ActorProcess(feed, bus))]
    )
    sup = Supervisor(spec)
    run = asyncio.create_task(sup.run(lambda: None), name="probe-supervisor")
    stats_path, stop_path = Path(args["stats_path"]), Path(args["stop_path"])
    summary: dict[str, Any] = {}
    try:
        if args.get("soak"):
            summary["soak"] = await _soak(feed, env["KITE_ROOT"], int(args["soak"]))
        else:
            if block_s := float(args.get("block_loop_s", 0)):
                await _until(lambda: feed.published > 0, "the first tick")
                time.sleep(block_s)  # a stuck loop: the reactor thread goes on receiving
            while not stop_path.exists():  # noqa: ASYNC240 - a stat per 50 ms in a probe
                _write(stats_path, feed.stats())
                await asyncio.sleep(0.05)
    finally:
        sup.request_stop()
        await asyncio.wait_for(run, 15)
        await bus.close()
    summary["stats"] = feed.stats()
    summary["closed"] = all(s.closed for s in feed.shards)
    _write(stats_path, summary["stats"])
    return summary


if __name__ == "__main__":
    # Everything at its most talkative, Twisted's and autobahn's logs included, so the test
    # can check that no line anywhere carries the access token.
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    from twisted.logger import globalLogBeginner, textFileLogObserver

    globalLogBeginner.beginLoggingTo(
        [textFileLogObserver(sys.stderr)],  # type: ignore[list-item]
        redirectStandardIO=False,
    )
    import txaio

    txaio.set_global_log_level("debug")  # type: ignore[attr-defined]
    arguments = json.loads(sys.argv[1])
    if arguments.get("soak"):
        tracemalloc.start()
    print(json.dumps(asyncio.run(main(arguments)), default=str))
