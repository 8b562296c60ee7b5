"""The launcher process: NATS (embedded or given), the root supervisor, signals, status.

It is generic: the tree comes in as a factory of `SupervisorSpec` (the composition root in
`ops` decides which actors run), so the runtime never imports the domain.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from nats.aio.msg import Msg
from prometheus_client import REGISTRY

from schemas.envelope import decode_as
from schemas.events import ControlCommand
from schemas.names import STATUS_SUBJECT, ControlVerb, control_subject
from supervisors.bus import Bus
from supervisors.embedded_nats import EmbeddedNats
from supervisors.errors import RuntimeFault
from supervisors.nats_auth import EmbeddedAuth, NatsAuth, redact_url
from supervisors.status import StatusNode
from supervisors.supervisor import Supervisor, SupervisorSpec, UnknownChild
from supervisors.telemetry.exposition import MetricsServer
from supervisors.telemetry.tree_collector import TreeCollector

__all__ = ["LaunchConfig", "TreeWatcher", "launch", "pipeline_figures", "EXIT_OK", "EXIT_GAVE_UP"]

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_GAVE_UP = 1


@dataclass(frozen=True)
class LaunchConfig:
    nats_url: str | None
    store_dir: Path
    roles: tuple[str, ...]
    duration_s: float | None = None
    embedded_port: int = 4222
    # how this process authenticates to NATS_URL (None: anonymous)
    auth: NatsAuth | None = None
    # the embedded server's authorization (None: it accepts anyone, for tests of the runtime)
    embedded_auth: EmbeddedAuth | None = None
    # run once before the tree, on the administrator's connection when embedded
    prepare: Callable[[Bus], Awaitable[None]] | None = None
    cleanup: Callable[[], Awaitable[None]] | None = None
    process_info: dict[str, Any] = field(default_factory=dict)
    # `host:port` to serve Prometheus metrics on (None: only where the web role mounts them)
    metrics_addr: str | None = None
    # watches the running tree (e.g. `up`'s console summary), told the final tree at the end
    watcher: TreeWatcher | None = None


class TreeWatcher(Protocol):
    """Something that follows the running tree's figures in this process (no NATS trip)."""

    async def watch(self, status: Callable[[], StatusNode]) -> None:
        """Runs beside the tree until cancelled when the tree stops."""

    def stopped(self, final: StatusNode) -> None:
        """The tree has stopped: `final` holds its actors' last figures."""


async def launch(config: LaunchConfig, tree: Callable[[Bus], SupervisorSpec]) -> int:
    """Run the tree until a signal, `duration_s`, or the root giving up; return the exit code."""
    embedded: EmbeddedNats | None = None
    bus: Bus | None = None
    url = config.nats_url
    auth, admin = config.auth, None
    try:
        if not url:
            guard = config.embedded_auth
            embedded = EmbeddedNats(
                config.store_dir / "nats",
                port=config.embedded_port,
                config_file=guard.config_file if guard else None,
            )
            url = await embedded.start()
            auth, admin = (guard.process, guard.admin) if guard else (None, None)
            log.info("embedded nats-server on %s (store %s, authorization %s)", url,
                     embedded.store_dir, guard.describe() if guard else "off")  # fmt: skip
        bus = await Bus.connect(url, name=f"alpha-panda:{','.join(config.roles)}", auth=auth)
        if config.prepare is not None:
            await _prepare(config.prepare, bus, url, admin)
        return await _run_root(config, bus, tree(bus), url)
    finally:
        if config.cleanup is not None:
            try:
                await config.cleanup()
            except Exception:
                log.exception("cleanup failed")
        if bus is not None:
            await bus.close()
        if embedded is not None:
            await embedded.stop()


async def _prepare(
    prepare: Callable[[Bus], Awaitable[None]], bus: Bus, url: str, admin: NatsAuth | None
) -> None:
    if admin is None:
        await prepare(bus)
        return
    admin_bus = await Bus.connect(url, name="alpha-panda:prepare", auth=admin)
    try:
        await prepare(admin_bus)
    finally:
        await admin_bus.close()


def pipeline_figures(tree: StatusNode) -> dict[str, dict[str, Any]]:
    """Merge the `pipeline` figures of every actor in the tree, per broker ("market": shared)."""
    out: dict[str, dict[str, Any]] = {}

    def walk(node: StatusNode) -> None:
        figures = node.figures.get("pipeline")
        if isinstance(figures, dict):
            out.setdefault(node.broker or "market", {}).update(figures)
        for child in node.children:
            walk(child)

    walk(tree)
    return out


def _drift_figures(tree: StatusNode) -> dict[str, Any]:
    """The drift monitor's figures (paper beside a live broker), if one runs here."""
    figures = tree.figures.get("drift")
    if isinstance(figures, dict):
        return {"drift": figures}
    for child in tree.children:
        found = _drift_figures(child)
        if found:
            return found
    return {}


async def _restart(root: Supervisor, command: ControlCommand) -> None:
    """Restart the named actor if it runs in this process (another process may run it)."""
    assert command.actor is not None
    try:
        outcome = await root.restart_child(command.actor)
    except UnknownChild:
        log.debug("restart of %s: not in this process", command.actor)
        return
    if outcome.restarted:
        log.warning("restarted %s (%s) as %s asked: %s", command.actor,
                    ", ".join(outcome.affected), command.requested_by or "unknown",
                    command.reason or "no reason given")  # fmt: skip
    else:
        log.warning("restart of %s refused: %s", command.actor, outcome.reason)


async def _run_root(config: LaunchConfig, bus: Bus, spec: SupervisorSpec, url: str) -> int:
    root = Supervisor(spec)
    started = time.time()
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "roles": list(config.roles),
        "nats_url": redact_url(url),
        "started_at": started,
        **config.process_info,
    }

    async def on_status(msg: Msg) -> None:
        if not msg.reply:
            return
        tree = root.status()
        body = {
            "process": {
                **info,
                "uptime_s": round(time.time() - started, 1),
                "security": bus.security.status(),
            },
            "tree": tree.to_builtins(),
            "pipeline": pipeline_figures(tree),
            **_drift_figures(tree),
        }
        await msg.respond(json.dumps(body, default=str).encode())

    status_sub = await bus.subscribe(STATUS_SUBJECT, on_status)
    restarts: set[asyncio.Task[None]] = set()

    async def on_restart(msg: Msg) -> None:
        # the gate checked the token and audited it; the process that runs the actor acts
        try:
            command = decode_as(msg.data, ControlCommand).data
        except Exception as exc:
            log.warning("ignoring a malformed %s: %s", msg.subject, exc)
            return
        if command.verb is not ControlVerb.RESTART or not command.actor:
            return
        task = asyncio.create_task(_restart(root, command), name="launcher:restart")
        restarts.add(task)
        task.add_done_callback(restarts.discard)

    restart_sub = await bus.subscribe(control_subject(ControlVerb.RESTART), on_restart)
    collector = TreeCollector(root.status)
    REGISTRY.register(collector)
    metrics = MetricsServer(config.metrics_addr) if config.metrics_addr else None
    if metrics is not None:
        await metrics.start()
    loop = asyncio.get_running_loop()
    stop_reason: list[str] = []

    def stop(reason: str) -> None:
        if not stop_reason:
            stop_reason.append(reason)
            log.info("stopping: %s", reason)
        root.request_stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, signal.Signals(sig).name)
    timer = (
        loop.call_later(config.duration_s, stop, f"--duration {config.duration_s:g}s elapsed")
        if config.duration_s
        else None
    )
    ready = asyncio.Event()
    watcher = config.watcher
    watching = (
        asyncio.create_task(watcher.watch(root.status), name="launcher:watcher")
        if watcher is not None
        else None
    )
    try:
        await root.run(ready.set)
    except RuntimeFault as exc:
        log.error("root supervisor gave up: %s", exc)
        return EXIT_GAVE_UP
    finally:
        if watching is not None:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
        if watcher is not None:
            try:
                watcher.stopped(root.status())
            except Exception:
                log.exception("the tree's watcher failed at the end")
        if timer is not None:
            timer.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        for task in restarts:
            task.cancel()
        for sub in (status_sub, restart_sub):
            try:
                await sub.unsubscribe()
            except Exception:  # connection already gone
                pass
        REGISTRY.unregister(collector)
        if metrics is not None:
            await metrics.close()
    return EXIT_OK
