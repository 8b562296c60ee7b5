"""`alpha-panda paper reset --confirm`: start the paper account afresh (ops/paper_reset.py).

It takes the data directory's `up.lock` first, so it refuses while `alpha-panda up` runs
there; with no NATS_URL it starts the embedded server on that directory's store for the
time of the reset, as `up` would.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from ops.bootstrap import bootstrap_streams
from ops.commands.common import run_async
from ops.nats_access import client_auth, prepare_embedded
from ops.paper_reset import ResetReport, reset_paper_account
from ops.settings import Settings, load_settings
from ops.tree import ROLES
from supervisors.bus import Bus
from supervisors.dirlock import DataDirLock
from supervisors.embedded_nats import EmbeddedNats
from supervisors.errors import DataDirInUse

__all__ = ["register", "reset_with"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("paper", help="the paper account: reset it")
    verbs = parser.add_subparsers(dest="paper_command", metavar="SUBCOMMAND", required=True)
    reset = verbs.add_parser(
        "reset", help="forget positions, cash, open orders and snapshots (never zerodha)"
    )
    reset.add_argument("--confirm", action="store_true", help="required: the reset is final")
    reset.set_defaults(func=_reset)


def who() -> str:
    return f"{getpass.getuser()}@cli"


async def reset_with(bus: Bus, settings: Settings) -> ResetReport:
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    return await reset_paper_account(bus, who(), redis_url=redis_url)


async def _reset_embedded(settings: Settings) -> ResetReport:
    guard = prepare_embedded(settings.data_dir, ROLES)
    server = EmbeddedNats(
        settings.data_dir / "nats",
        port=settings.embedded_nats_port,
        config_file=guard.config_file,
    )
    url = await server.start()
    try:
        bus = await Bus.connect(url, name="alpha-panda:paper-reset", auth=guard.admin)
        try:
            await bootstrap_streams(bus, settings.env)  # a store never started has none yet
            return await reset_with(bus, settings)
        finally:
            await bus.close()
    finally:
        await server.stop()


async def _reset_external(settings: Settings) -> ResetReport:
    url = settings.nats_url or ""
    bus = await Bus.connect(url, name="alpha-panda:paper-reset", auth=client_auth(settings, url))
    try:
        return await reset_with(bus, settings)
    finally:
        await bus.close()


def _reset(args: argparse.Namespace) -> int:
    if not args.confirm:
        print("alpha-panda paper reset: this forgets the paper account's positions, cash, "
              "open orders and snapshots; add --confirm to do it", file=sys.stderr)  # fmt: skip
        return 2
    settings = load_settings()
    lock = DataDirLock(settings.data_dir)
    try:
        lock.acquire(command="paper reset")
    except DataDirInUse as exc:
        print(f"alpha-panda paper reset: refused, {exc}", file=sys.stderr)
        return 2
    try:
        work = _reset_external if settings.nats_url else _reset_embedded
        report = run_async(work(settings))
    finally:
        lock.release()
    print(report.describe())
    return 0
