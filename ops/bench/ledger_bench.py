"""`alpha-panda bench ledger`: what the ledger costs per fill, at several fill rates.

Each run is the real portfolio actor (the runtime's mailbox loop, its durable consumer
and its ledger) on a throwaway nats-server, fed `OrderFilled` envelopes at a fixed rate
for a few seconds (encoded before the clock starts, published pipelined), until the
ledger holds every one. Two ways of writing the ledger are run at each rate:

- `group`: the shipped group commit, one durable step per batch of inputs;
- `per_fill`: one durable step per input, as before group commit (a subclass that saves
  the ledger in the handler).

Figures per fill: the app process's CPU (all threads, `time.process_time`), the file
ledger's I/O thread CPU, fsyncs and durable steps (commits), and nats-server's CPU.
With `--database-url` the PostgreSQL ledger is used instead (the database server's own
CPU is not counted; commits are its transactions).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from actors.portfolio.actor import PortfolioActor
from actors.stores.file_ledger import FileLedger
from actors.stores.shared import Stores
from ops.bench.pacing import paced, wait_until
from ops.bench.servers import start_nats
from ops.bootstrap import bootstrap_streams
from schemas.enums import Side
from schemas.envelope import Envelope, encode, headers_for, new_envelope
from schemas.events import Charges, Event, OrderFilled
from schemas.names import ORDERS_FILLED, broker_subject
from supervisors.actor import Context
from supervisors.bus import Bus
from supervisors.runner import ActorProcess

__all__ = ["DEFAULT_RATES", "run_ledger_bench"]

DEFAULT_RATES: tuple[float, ...] = (20.0, 100.0, 500.0, 2000.0)
MODES = ("group", "per_fill")
_SUBJECT = broker_subject("paper", ORDERS_FILLED)
_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


class _PerFillPortfolio(PortfolioActor):
    """The ledger written one input at a time: the cost group commit removes."""

    async def on_order_event(self, env: Envelope[Event], ctx: Context) -> None:
        await super().on_order_event(env, ctx)
        await self._save_ledger()


@dataclass
class _Run:
    mode: str
    rate: float
    fills: int
    seconds: float
    cpu_s: float
    io_cpu_s: float | None
    server_cpu_s: float
    commits: int
    fsyncs: int | None
    drained: bool

    def figures(self) -> dict[str, Any]:
        per = max(self.fills, 1)
        out: dict[str, Any] = {
            "mode": self.mode,
            "rate": self.rate,
            "fills": self.fills,
            "fills_per_s": round(self.fills / self.seconds, 1) if self.seconds else 0.0,
            "cpu_us_per_fill": round(self.cpu_s * 1e6 / per, 1),
            "nats_cpu_us_per_fill": round(self.server_cpu_s * 1e6 / per, 1),
            "commits_per_fill": round(self.commits / per, 4),
            "fills_per_commit": round(per / max(self.commits, 1), 1),
            "drained": self.drained,
        }
        if self.io_cpu_s is not None:
            out["ledger_io_cpu_us_per_fill"] = round(self.io_cpu_s * 1e6 / per, 1)
        if self.fsyncs is not None:
            out["fsyncs_per_fill"] = round(self.fsyncs / per, 4)
        return out


def _fills(total: int) -> list[tuple[bytes, dict[str, str]]]:
    run = uuid.uuid4().hex[:8]
    out = []
    for n in range(total):
        coid = f"b{run}-{n}"
        fill = OrderFilled(
            client_order_id=coid, broker_order_id=f"P-{coid}", fill_id=f"{coid}-F1",
            strategy_id="bench", instrument_token=408065, side=Side.BUY if n % 2 else Side.SELL,
            quantity=1, price=Decimal("100.05"), cumulative_quantity=1, order_quantity=1,
            average_price=Decimal("100.05"), final=True, charges=Charges(stt=Decimal("0.03")),
            symbol="HDFCBANK",
        )  # fmt: skip
        env = new_envelope(fill, source="paper-bench", broker="paper")
        out.append((encode(env), headers_for(env, None)))
    return out


def _proc_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S
    except (OSError, ValueError, IndexError):
        return 0.0


async def _one_run(mode: str, rate: float, seconds: float, database_url: str | None) -> _Run:
    total = max(1, int(rate * seconds))
    payloads = _fills(total)
    server = await start_nats()
    data_dir = Path(tempfile.mkdtemp(prefix="ap-bench-ledger-"))
    stores = Stores(None, database_url, data_dir)
    bus = await Bus.connect(server.url, name="bench-ledger")
    try:
        await bootstrap_streams(bus, "dev")
        ledger = await stores.ledger()
        base_fills, base_commits = await ledger.count_fills("paper"), ledger.commits
        base_fsyncs = ledger.fsyncs if isinstance(ledger, FileLedger) else 0
        kind = PortfolioActor if mode == "group" else _PerFillPortfolio
        actor = kind("paper", stores, starting_cash=Decimal("1e9"), pnl_interval_s=3600)
        process = ActorProcess(actor, bus)
        started = asyncio.Event()
        task = asyncio.create_task(process.run(started.set), name="bench:portfolio")
        await asyncio.wait_for(started.wait(), 30)

        async def send(first: int, count: int) -> None:
            pending = [
                (_SUBJECT, await bus.publish_pipelined(_SUBJECT, *payloads[i]))
                for i in range(first, first + count)
            ]
            await bus.wait_acks(pending)

        io_before = await _io_cpu_s(ledger)
        cpu0, server0, t0 = time.process_time(), _proc_cpu_s(server.proc.pid), time.monotonic()
        await paced(rate, total, send)
        drained = await wait_until(lambda: actor.book.fills >= total, 30 + seconds)
        elapsed = time.monotonic() - t0
        cpu, server_cpu = time.process_time() - cpu0, _proc_cpu_s(server.proc.pid) - server0
        io_after = await _io_cpu_s(ledger)
        process.request_stop()
        await asyncio.wait_for(task, 15)
        recorded = await ledger.count_fills("paper") - base_fills
        return _Run(
            mode=mode, rate=rate, fills=recorded, seconds=elapsed, cpu_s=cpu,
            io_cpu_s=None if io_before is None or io_after is None else io_after - io_before,
            server_cpu_s=server_cpu, commits=ledger.commits - base_commits,
            fsyncs=ledger.fsyncs - base_fsyncs if isinstance(ledger, FileLedger) else None,
            drained=drained and recorded == total,
        )  # fmt: skip
    finally:
        await bus.close()
        await stores.close()
        await server.stop()


async def _io_cpu_s(ledger: object) -> float | None:
    return await ledger.io_cpu_s() if isinstance(ledger, FileLedger) else None


async def run_ledger_bench(
    rates: Sequence[float] = DEFAULT_RATES,
    seconds: float = 5.0,
    *,
    database_url: str | None = None,
    say: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """Every rate in both modes; one JSON-able dict with a row per run."""
    runs: list[dict[str, Any]] = []
    for rate in rates:
        for mode in MODES:
            run = (await _one_run(mode, rate, seconds, database_url)).figures()
            steps = run.get("fsyncs_per_fill", run["commits_per_fill"])
            say(f"{mode:>8} {rate:>7.0f} fills/s: {run['cpu_us_per_fill']} µs CPU/fill, "
                f"{steps} durable steps/fill")  # fmt: skip
            runs.append(run)
    return {
        "bench": "ledger",
        "ledger": "postgresql" if database_url else "file",
        "seconds": seconds,
        "runs": runs,
        "lost": sum(0 if r["drained"] else 1 for r in runs),
    }
