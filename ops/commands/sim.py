"""`alpha-panda sim kite`: a local Kite Connect (HTTP API and ticker) for running without an
account. Its first stdout lines are the `export` lines that point the app at it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from ops.commands.common import run_async
from ops.sim.kite.limits import Faults
from ops.sim.kite.server import KiteSim, SimConfig

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sim", help="local simulators of external venues")
    sims = p.add_subparsers(dest="sim_command", metavar="SIM", required=True)
    kite = sims.add_parser("kite", help="a local Kite Connect: HTTP API, ticker, faults")
    kite.add_argument("--host", default="127.0.0.1", help="address to listen on")
    kite.add_argument("--port", type=int, default=8765, help="HTTP API port (0: any free)")
    kite.add_argument("--ws-port", type=int, default=8766, help="ticker port (0: any free)")
    kite.add_argument("--api-key", default="kitesim", help="the API key it accepts")
    kite.add_argument("--api-secret", default="kitesim-secret", help="the API secret it accepts")
    kite.add_argument("--seed", type=int, default=1, help="seed of the price walk")
    kite.add_argument(
        "--tick-interval-s", type=float, default=0.02, help="seconds between walk ticks"
    )
    faults = kite.add_argument_group("faults (also POST /_sim/faults with a JSON object)")
    faults.add_argument("--http-5xx", type=int, default=0, help="answer the next N with 503")
    faults.add_argument("--http-429", type=int, default=0, help="answer the next N with 429")
    faults.add_argument(
        "--timeout-after-place", type=int, default=0,
        help="place the next N orders but answer only after --timeout-s",
    )  # fmt: skip
    faults.add_argument("--timeout-s", type=float, default=10.0, help="delay of that answer")
    faults.add_argument(
        "--drop-ws-after", type=float, help="cut every ticker connection after S seconds"
    )
    faults.add_argument("--stall-ws-after", type=float, help="go silent after S seconds ...")
    faults.add_argument("--stall-s", type=float, default=30.0, help="... for this long")
    faults.add_argument(
        "--expire-token-after", type=float, help="expire every access token after S seconds"
    )
    kite.set_defaults(func=_kite)


def _kite(args: argparse.Namespace) -> int:
    logging.getLogger("websockets").setLevel(logging.WARNING)
    for name in ("port", "ws_port"):
        if not 0 <= getattr(args, name) <= 65535:
            print(f"alpha-panda: --{name.replace('_', '-')} must be 0..65535", file=sys.stderr)
            return 2
    config = SimConfig(
        host=args.host,
        port=args.port,
        ws_port=args.ws_port,
        api_key=args.api_key,
        api_secret=args.api_secret,
        seed=args.seed,
        tick_interval_s=args.tick_interval_s,
    )
    faults = Faults(
        http_5xx=args.http_5xx,
        http_429=args.http_429,
        timeout_after_place=args.timeout_after_place,
        timeout_s=args.timeout_s,
    )
    sim = KiteSim(config, faults)
    try:
        run_async(sim.serve(lambda s: _ready(s, args)))
    except OSError as exc:
        print(f"alpha-panda: the simulator cannot listen: {exc}; pick free ports", file=sys.stderr)
        return 1
    return 0


async def _ready(sim: KiteSim, args: argparse.Namespace) -> None:
    for line in sim.exports():
        print(line)
    print(f"# Kite simulator: API {sim.root}, ticker {sim.ws_root}; Ctrl-C stops it", flush=True)
    scheduled = [
        (args.drop_ws_after, {"drop_ws": True}),
        (args.stall_ws_after, {"stall_ws": args.stall_s}),
        (args.expire_token_after, {"expire_token": True}),
    ]
    for delay, fault in scheduled:
        if delay is not None:
            handle = asyncio.get_running_loop().call_later(delay, _inject, sim, fault)
            sim.scheduled.append(handle)


def _inject(sim: KiteSim, fault: dict[str, object]) -> None:
    sim.faults.update(fault)
    sim.apply_ws_faults()
