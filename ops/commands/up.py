"""`alpha-panda up`: start the supervision tree (embedded NATS unless NATS_URL is set)."""

from __future__ import annotations

import argparse
import logging
import sys

from actors.stores.shared import Stores
from bridge.errors import BridgeConfigError
from bridge.mirror.config import BridgeConfig
from ops.bootstrap import bootstrap_streams
from ops.commands.common import run_async
from ops.commands.paper_cmd import reset_with
from ops.config_loading import load_domain_config
from ops.console import ConsoleSummary
from ops.nats_access import client_auth, prepare_embedded
from ops.preflight import (
    check_compatibility,
    check_nats_server,
    check_refuses_anonymous,
    check_secrets,
    check_streams,
    check_zerodha_session,
)
from ops.settings import Settings, load_settings
from ops.tree import ROLES, build_tree
from schemas.grants import js_api
from schemas.names import STATE_BUCKET, kv_stream
from schemas.permissions import process_user, user_permissions
from supervisors.bus import Bus
from supervisors.dirlock import DataDirLock
from supervisors.errors import DataDirInUse
from supervisors.launcher import LaunchConfig, launch
from supervisors.lease import process_owner_id
from supervisors.nats_auth import NatsAuth
from supervisors.telemetry import tracing

__all__ = ["register"]

log = logging.getLogger("alpha_panda.up")

#: a role user that may create the actors' snapshot bucket may also give it its replicas
STATE_BUCKET_CREATE = js_api("STREAM", "CREATE", kv_stream(STATE_BUCKET))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("up", help="start the supervision tree")
    p.add_argument(
        "--role",
        action="append",
        choices=ROLES,
        help="start only these roles (repeatable); default: all",
    )
    p.add_argument("--duration", type=float, help="stop gracefully after SECONDS")
    p.add_argument(
        "--summary-interval", type=float, metavar="S",
        help="seconds between console summary lines (default ALPHA_PANDA_SUMMARY_INTERVAL_S, 10)",
    )  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no periodic summary lines")
    p.add_argument(
        "--fresh", action="store_true",
        help="reset the paper account before starting (as `alpha-panda paper reset`)",
    )  # fmt: skip
    p.add_argument(
        "--feed-process", action="store_true",
        help="run the market feed in a child process of its own (as ALPHA_PANDA_FEED_PROCESS=1)",
    )  # fmt: skip
    p.set_defaults(func=_up)


def _up(args: argparse.Namespace) -> int:
    check_compatibility()
    settings = load_settings()
    if args.feed_process:
        settings = settings.model_copy(update={"feed_process": True})
    check_secrets(settings)
    if args.duration is not None and args.duration <= 0:
        print("alpha-panda: --duration must be a positive number of seconds", file=sys.stderr)
        return 2
    if args.summary_interval is not None and args.summary_interval <= 0:
        print("alpha-panda: --summary-interval must be a positive number of seconds "
              "(--quiet turns the summary off)", file=sys.stderr)  # fmt: skip
        return 2
    roles = tuple(args.role or ROLES)
    if {"execution", "feed"} & set(roles):
        check_zerodha_session(settings)  # no Kite session: stop now, naming the login
    # First, before any server starts: a second `up` on this directory must not touch
    # its embedded NATS store or ledger.
    lock = DataDirLock(settings.data_dir)
    try:
        lock.acquire(roles=list(roles))
    except DataDirInUse as exc:
        print(f"alpha-panda: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"alpha-panda: cannot use data directory {settings.data_dir} ({exc.strerror}); "
              "set ALPHA_PANDA_DATA_DIR to a writable directory", file=sys.stderr)  # fmt: skip
        return 2
    # Holding the lock, any nats.url here was left by a predecessor that died: it would send
    # `alpha-panda status` to a server that is gone.
    (settings.data_dir / "nats.url").unlink(missing_ok=True)
    try:
        return _run(args, settings, roles)
    finally:
        lock.release()


async def _fresh(bus: Bus, settings: Settings) -> None:
    """`--fresh`: the paper account starts afresh, before any actor restores its state."""
    if "paper" not in settings.brokers:
        log.info("--fresh: paper is not among ALPHA_PANDA_BROKERS; nothing reset")
        return
    log.info("%s", (await reset_with(bus, settings)).describe())


def _how(auth: NatsAuth | None) -> str:
    return auth.describe() if auth else "anonymous"


def _run(args: argparse.Namespace, settings: Settings, roles: tuple[str, ...]) -> int:
    if "web" in roles:  # the first line a person reads: where to watch it
        log.info("pages and API at http://%s (ALPHA_PANDA_WEB_ADDR)", settings.web_addr)
    if "bridge" in roles and settings.kafka_bootstrap_servers:
        try:  # the tree reads it again; a bad ALPHA_PANDA_BRIDGE_PRODUCER stops us here, clearly
            BridgeConfig.from_settings(settings)
        except BridgeConfigError as exc:
            print(f"alpha-panda: {exc}", file=sys.stderr)
            return 2
    domain = run_async(load_domain_config(settings))  # a broken config stops us here, clearly
    log.info("strategies from %s: %s", domain.strategies_source,
             ", ".join(c.id for c in domain.strategies if c.enabled) or "none enabled")  # fmt: skip
    owner = process_owner_id()  # this process, in the broker leases it holds
    stores = Stores(
        settings.redis_url.get_secret_value() if settings.redis_url else None,
        settings.database_url.get_secret_value() if settings.database_url else None,
        settings.data_dir,
    )

    user = process_user(roles)
    permissions = user_permissions(user, roles)
    embedded = None if settings.nats_url else prepare_embedded(settings.data_dir, roles)
    auth = None if embedded else client_auth(settings, settings.nats_url or "", user)

    async def prepare(bus: Bus) -> None:
        info = bus.nc._server_info
        check_nats_server(str(info.get("version", "0")), bool(info.get("jetstream", False)))
        if settings.nats_url and settings.env == "production":
            await check_refuses_anonymous(settings.nats_url, auth.tls if auth else None)
        # Embedded: this is the operator's connection. External: a role user may lack the
        # right to create streams; then the control role (or `ops bootstrap`) makes them.
        if embedded or auth is None or auth.anonymous or permissions.manages_streams:
            results = await bootstrap_streams(
                bus, settings.env, state_bucket=embedded is not None or auth is None
                or auth.anonymous or permissions.may_publish(STATE_BUCKET_CREATE),
            )  # fmt: skip
            changed = {k: v for k, v in results.items() if v != "unchanged"}
            if changed:
                log.info("streams: %s", changed)
        else:
            await check_streams(bus, permissions.streams_read)
        if args.fresh:
            await _fresh(bus, settings)

    config = LaunchConfig(
        nats_url=settings.nats_url,
        store_dir=settings.data_dir,
        roles=roles,
        duration_s=args.duration,
        embedded_port=settings.embedded_nats_port,
        auth=auth,
        embedded_auth=embedded,
        prepare=prepare,
        cleanup=stores.close,
        watcher=ConsoleSummary(
            None if args.quiet else (args.summary_interval or settings.summary_interval_s)
        ),
        process_info={"env": settings.env, "brokers": list(settings.brokers), "owner": owner,
                      "auth": embedded.describe() if embedded else f"external, {_how(auth)}",
                      **stores.kind},
        metrics_addr=settings.metrics_addr,
    )  # fmt: skip
    traces = tracing.configure(f"alpha-panda:{','.join(roles)}")
    if traces.enabled:
        log.info("tracing on, spans to %s", traces.where)
    try:
        return run_async(
            launch(
                config, lambda bus: build_tree(bus, settings, roles, domain, stores, owner=owner)
            )
        )
    finally:
        traces.shutdown()  # flushes the spans still buffered
