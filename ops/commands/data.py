"""`alpha-panda data record|fetch|sample`: market data for backtests.

`record` writes the live tick stream (the MARKET stream's `market.ticks.>` on the running
system's NATS, found as `alpha-panda status` finds it) to the replay CSV format, which
`alpha-panda up` can replay and a backtest can load. Ticks are written in event time
order: a tick arriving up to `REORDER_S` late (by exchange time) is put in its place;
one later than that is left out and counted. Two ticks of one instrument with the same
exchange time (Kite stamps to the second) are kept in arrival order, 1 ns apart.

`fetch` pulls one-minute candles from Kite's historical API through the official client
(`ops/data_fetch.py`: 60-day windows, 3 requests a second) into the backtester's format.

`sample` regenerates the shipped sample (`ops/backtest/sample.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import sys
import time
from collections.abc import Callable
from pathlib import Path

from nats.aio.msg import Msg

from actors.feed.replay import TickCsvWriter
from actors.instruments import InstrumentBook
from ops.commands.common import nats_target, run_async
from ops.errors import ConfigError
from ops.settings import load_settings
from schemas.envelope import decode_as
from schemas.errors import DecodeError
from schemas.events import MarketTick
from schemas.names import MARKET_TICKS_ALL
from supervisors.bus import Bus

__all__ = ["register", "record_ticks", "RecordResult", "REORDER_S"]

REORDER_S = 2.0
CONNECT_TIMEOUT_S = 10.0
_NS = 1_000_000_000


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("data", help="record live ticks; regenerate the shipped sample")
    data = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    rec = data.add_parser("record", help="write the live tick stream to a replay CSV file")
    rec.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    rec.add_argument("--duration", type=float, help="stop after this many seconds")
    rec.add_argument("--count", type=int, help="stop after this many ticks")
    rec.add_argument("--instruments", help="only these, comma-separated symbols or tokens")
    rec.set_defaults(func=_record)
    fetch = data.add_parser("fetch", help="one-minute candles from Kite's historical API")
    which = fetch.add_mutually_exclusive_group(required=True)
    which.add_argument("--token", type=int, help="the Kite instrument_token")
    which.add_argument("--symbol", help="the trading symbol, e.g. INFY or NSE:INFY")
    fetch.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD[THH:MM] (IST)")
    fetch.add_argument("--to", dest="end", required=True, help="YYYY-MM-DD[THH:MM] (IST)")
    fetch.add_argument("--interval", default="minute", choices=["minute"],
                       help="candle size (the backtester reads one-minute candles)")  # fmt: skip
    fetch.add_argument("--out", type=Path, required=True, help="the candles CSV to write")
    fetch.set_defaults(func=_fetch)
    sample = data.add_parser("sample", help="regenerate the shipped sample of candles")
    sample.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    sample.set_defaults(func=_sample)


class RecordResult:
    __slots__ = ("decode_errors", "late", "written")

    def __init__(self) -> None:
        self.written = 0
        self.late = 0
        self.decode_errors = 0


def _tokens(spec: str | None) -> set[int] | None:
    if spec is None:
        return None
    book = InstrumentBook.default()
    tokens = set()
    for ref in (r.strip() for r in spec.split(",") if r.strip()):
        inst = book.resolve(ref)
        if inst is None:
            known = ", ".join(i.tradingsymbol for i in book)
            raise ConfigError(f"--instruments: {ref!r} is not in the instrument master; "
                              f"known: {known}")  # fmt: skip
        tokens.add(inst.instrument_token)
    if not tokens:
        raise ConfigError("--instruments is empty; name symbols or tokens, e.g. INFY,TCS")
    return tokens


async def record_ticks(
    bus: Bus,
    out: Path,
    *,
    duration_s: float | None = None,
    count: int | None = None,
    tokens: set[int] | None = None,
    progress: Callable[[str], None] = lambda line: None,
    ready: asyncio.Event | None = None,
) -> RecordResult:
    """Record ticks from `bus` to `out` until `duration_s` passes or `count` are written."""
    result = RecordResult()
    heap: list[tuple[int, int, MarketTick]] = []
    last_written: dict[int, int] = {}
    horizon = -1  # the event time last written; nothing earlier can follow it
    newest = -1  # the latest event time received
    accepted = 0
    done = asyncio.Event()
    writer = TickCsvWriter(out)

    def drain(until_ns: int | None) -> None:
        nonlocal horizon
        while heap and (until_ns is None or heap[0][0] <= until_ns):
            ts, _, tick = heapq.heappop(heap)
            token = tick.instrument_token
            ts = max(ts, last_written.get(token, -1) + 1, horizon)
            last_written[token] = horizon = ts
            writer.write(ts, tick)
            result.written += 1

    async def on_msg(msg: Msg) -> None:
        nonlocal accepted, newest
        if done.is_set():
            return
        try:
            env = decode_as(msg.data, MarketTick)
        except DecodeError:
            result.decode_errors += 1
            return
        tick = env.data
        if tokens is not None and tick.instrument_token not in tokens:
            return
        ts = tick.exchange_timestamp_ns or env.ts
        if ts < horizon:
            result.late += 1
            return
        accepted += 1
        heapq.heappush(heap, (ts, accepted, tick))
        newest = max(newest, ts)
        drain(newest - int(REORDER_S * _NS))
        if count is not None and accepted >= count:
            done.set()

    started = time.monotonic()
    try:
        sub = await bus.subscribe(MARKET_TICKS_ALL, on_msg)
        await bus.nc.flush()
        if ready is not None:
            ready.set()
        deadline = None if duration_s is None else started + duration_s
        while not done.is_set():
            wait = 1.0 if deadline is None else min(1.0, deadline - time.monotonic())
            if wait <= 0:
                break
            try:
                await asyncio.wait_for(done.wait(), wait)
            except TimeoutError:
                pass
            writer.flush()
            elapsed = time.monotonic() - started
            progress(f"recorded {result.written + len(heap)} ticks in {elapsed:.0f} s")
        await sub.unsubscribe()
        drain(None)
    finally:
        writer.close()
    return result


def _record(args: argparse.Namespace) -> int:
    if args.duration is None and args.count is None:
        raise ConfigError("give --duration SECONDS or --count N (or both) to end the recording")
    if (args.duration is not None and args.duration <= 0) or (
        args.count is not None and args.count < 1
    ):
        raise ConfigError("--duration must be > 0 and --count at least 1")
    tokens = _tokens(args.instruments)
    target = nats_target(load_settings())

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    async def record() -> RecordResult:
        try:
            bus = await asyncio.wait_for(
                target.connect("alpha-panda:data-record"), CONNECT_TIMEOUT_S
            )
        except TimeoutError:
            raise ConfigError(
                f"cannot reach NATS at {target.shown} within {CONNECT_TIMEOUT_S:g} s: start "
                "`alpha-panda up` in this directory or set NATS_URL to the running server"
            ) from None
        try:
            return await record_ticks(
                bus, args.out, duration_s=args.duration, count=args.count, tokens=tokens,
                progress=progress,
            )  # fmt: skip
        finally:
            await bus.close()

    try:
        result = run_async(record())
    except OSError as exc:
        raise ConfigError(f"cannot record to {args.out} or reach {target.shown}: {exc}") from None
    notes = []
    if result.late:
        notes.append(f"{result.late} arrived more than {REORDER_S:g} s late and were left out")
    if result.decode_errors:
        notes.append(f"{result.decode_errors} were not tick envelopes")
    print(
        f"wrote {result.written} ticks to {args.out}" + (f" ({'; '.join(notes)})" if notes else "")
    )
    if result.written == 0:
        print(
            f"no ticks arrived on {MARKET_TICKS_ALL} at {target.shown}: is a feed running?",
            file=sys.stderr,
        )
        return 1
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from actors.kite.session import kite_client, load_session
    from ops.config_loading import instrument_book
    from ops.data_fetch import fetch_candles, parse_when

    settings = load_settings()
    book = instrument_book(settings)
    ref = args.symbol if args.symbol is not None else args.token
    inst = book.resolve(ref)
    if inst is None:
        raise ConfigError(
            f"{ref!r} is not in the instrument master; import Kite's with `alpha-panda zerodha "
            "instruments` and point ALPHA_PANDA_INSTRUMENTS at it, or name a shipped one"
        )
    start, end = parse_when(args.start, end=False), parse_when(args.end, end=True)
    kite = kite_client(load_session(settings))

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        result = fetch_candles(kite, inst, start, end, args.out, progress=progress)
    except OSError as exc:
        raise ConfigError(f"cannot write {args.out} or reach Kite: {exc}") from None
    print(f"wrote {result.candles} one-minute candles of {inst.tradingsymbol} to {args.out} "
          f"({result.requests} requests, {result.retries} retries, "
          f"{result.elapsed_s:.1f} s)")  # fmt: skip
    return 0 if result.candles else 1


def _sample(args: argparse.Namespace) -> int:
    from ops.backtest.sample import write_sample_candles

    try:
        n = write_sample_candles(args.out)
    except OSError as exc:
        raise ConfigError(f"cannot write {args.out}: {exc}") from None
    print(f"wrote {n} one-minute candles to {args.out}")
    return 0
