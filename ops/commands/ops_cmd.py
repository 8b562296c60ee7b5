"""`alpha-panda ops bootstrap`: create or update streams (and topics when Kafka is set)."""

from __future__ import annotations

import argparse

from ops.bootstrap import bootstrap_streams
from ops.commands.common import resolve_nats_url, run_async
from ops.settings import Env, load_settings
from supervisors.bus import Bus

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("ops", help="operations: bootstrap streams and topics")
    ops_sub = p.add_subparsers(dest="ops_command", metavar="OPS_COMMAND", required=True)
    b = ops_sub.add_parser("bootstrap", help="create or update streams and topics (idempotent)")
    b.add_argument("--env", choices=("dev", "test", "production"), help="overlay to apply")
    b.set_defaults(func=_bootstrap)


def _bootstrap(args: argparse.Namespace) -> int:
    settings = load_settings()
    env: Env = args.env or settings.env
    url = resolve_nats_url(settings)

    async def run() -> dict[str, str]:
        bus = await Bus.connect(url, name="alpha-panda:bootstrap")
        try:
            return await bootstrap_streams(bus, env)
        finally:
            await bus.close()

    for name, result in run_async(run()).items():
        print(f"stream {name}: {result}")
    return 0
