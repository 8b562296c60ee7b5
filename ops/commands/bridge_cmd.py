"""`alpha-panda bridge run|status|replay`: the mirror alone, its lag, and topic replays."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from typing import Any

from bridge.errors import BridgeError
from bridge.mirror.config import MIRRORED_STREAMS, BridgeConfig
from bridge.mirror.process import BridgeProcess
from bridge.replay.republish import ReplayRequest, operator_name, replay
from bridge.status.report import bridge_status, format_status
from ops.nats_access import NatsTarget, nats_target
from ops.replay_consent import connect_for_replay
from ops.settings import Settings, load_settings

__all__ = ["register"]

log = logging.getLogger(__name__)

EXIT_USAGE = 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bridge", help="the JetStream -> Kafka mirror: run it, see its lag, replay a topic"
    )
    sub = parser.add_subparsers(dest="bridge_command", metavar="SUBCOMMAND", required=True)

    run = sub.add_parser("run", help="run the mirror alone (`up` runs it when Kafka is set)")
    run.add_argument(
        "--streams", help=f"comma-separated streams (default {','.join(MIRRORED_STREAMS)})"
    )
    run.add_argument(
        "--producer", action="append", default=[], metavar="CLASS.FIELD=VALUE",
        help="producer setting per topic class, e.g. ticks.compression=gzip (repeatable)",
    )  # fmt: skip
    run.add_argument("--duration", type=float, help="stop gracefully after this many seconds")
    run.add_argument("--metrics-port", type=int, help="serve Prometheus /metrics on this port")
    run.set_defaults(func=_cmd_run)

    status = sub.add_parser("status", help="lag per stream and throughput")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.add_argument("--sample-s", type=float, default=1.0, help="throughput sample window")
    status.set_defaults(func=_cmd_status)

    rep = sub.add_parser("replay", help="republish a topic's records into NATS")
    rep.add_argument("--topic", required=True)
    rep.add_argument("--from-offset", type=int)
    rep.add_argument("--from-time", help="ISO 8601, e.g. 2026-11-25T09:15:00+05:30")
    rep.add_argument("--to-offset", type=int, help="inclusive")
    rep.add_argument("--to-time", help="exclusive, ISO 8601")
    rep.add_argument(
        "--filter", action="append", default=[], metavar="HEADER=VALUE",
        help="keep records whose header (type, nats-subject, nats-stream, id) or key matches",
    )  # fmt: skip
    rep.add_argument("--to-subject", help="publish to this subject instead of the original")
    rep.add_argument("--dry-run", action="store_true", help="read and count, publish nothing")
    rep.add_argument("--confirm", action="store_true", help="required to re-drive a .dlq topic")
    rep.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    rep.add_argument("--no-progress", action="store_true")
    rep.set_defaults(func=_cmd_replay)


def _cmd_run(args: argparse.Namespace) -> int:
    logging.getLogger("aiokafka").setLevel(logging.WARNING)  # its INFO lines are per connection
    settings = load_settings()
    streams = tuple(s.strip().upper() for s in (args.streams or "").split(",") if s.strip())
    try:
        config = BridgeConfig.from_settings(
            settings, producer_overrides=args.producer, streams=streams
        )
    except BridgeError as exc:
        print(f"alpha-panda bridge: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port, addr="127.0.0.1")
    try:
        return asyncio.run(_run(nats_target(settings, "bridge"), config, args.duration))
    except BridgeError as exc:  # retrying cannot fix it: the message says what will
        print(f"alpha-panda bridge: {exc}", file=sys.stderr)
        return EXIT_USAGE


async def _run(target: NatsTarget, config: BridgeConfig, duration_s: float | None) -> int:
    bus = await target.connect("alpha-panda:bridge")
    process = BridgeProcess(bus, config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, process.request_stop)
    loop.add_signal_handler(signal.SIGUSR1, _dump_tasks)  # `kill -USR1`: where is it stuck?
    timer = loop.call_later(duration_s, process.request_stop) if duration_s else None
    try:
        await process.run(lambda: log.info("bridge ready: mirroring %s", ", ".join(process.bound)))
    finally:
        if timer is not None:
            timer.cancel()
        await bus.close()
    return 0


def _dump_tasks() -> None:
    """Log every task's stack: what a stuck bridge is waiting for."""
    for task in asyncio.all_tasks():
        stack = "\n".join(
            f"    {f.f_code.co_filename}:{f.f_lineno} {f.f_code.co_name}" for f in task.get_stack()
        )
        log.warning("task %s:\n%s", task.get_name(), stack)


def _cmd_status(args: argparse.Namespace) -> int:
    settings = load_settings()

    async def go() -> dict[str, Any]:
        bus = await nats_target(settings).connect("alpha-panda:bridge-status")
        try:
            return await bridge_status(bus, sample_s=args.sample_s)
        finally:
            await bus.close()

    result = asyncio.run(go())
    print(json.dumps(result) if args.json else format_status(result))
    return 0


def _parse_filters(items: list[str]) -> dict[str, tuple[str, ...]]:
    filters: dict[str, tuple[str, ...]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise BridgeError(f"--filter {item!r}: expected HEADER=VALUE, e.g. type=order.filled")
        filters[name.strip()] = (*filters.get(name.strip(), ()), *value.split(","))
    return filters


def _cmd_replay(args: argparse.Namespace) -> int:
    settings = load_settings()
    if not settings.kafka_bootstrap_servers:
        print("alpha-panda bridge replay: set KAFKA_BOOTSTRAP_SERVERS", file=sys.stderr)
        return EXIT_USAGE
    try:
        request = ReplayRequest(
            topic=args.topic, from_offset=args.from_offset, to_offset=args.to_offset,
            from_time=args.from_time, to_time=args.to_time,
            filters=_parse_filters(args.filter), to_subject=args.to_subject,
            dry_run=args.dry_run, confirm=args.confirm,
        )  # fmt: skip
        summary = asyncio.run(
            _replay(settings, request, progress=not (args.no_progress or args.json))
        )
    except BridgeError as exc:
        print(f"alpha-panda bridge replay: {exc}", file=sys.stderr)
        return EXIT_USAGE
    data = summary.as_dict()
    if args.json:
        print(json.dumps(data))
    else:
        print(
            f"{data['mode']} {data['topic']}: read {data['read']}, matched {data['matched']}, "
            f"published {data['published']}, duplicates {data['duplicates']} "
            f"in {data['seconds']}s; by type {data['by_type']}"
        )
    if data["omitted"]:
        print(
            f"{data['omitted']} dead letter(s) carry no payload (too large for Kafka) and were "
            "not re-driven: republish them from JetStream at the stream sequence each names",
            file=sys.stderr,
        )
    return 0


async def _replay(settings: Settings, request: ReplayRequest, *, progress: bool) -> Any:
    # inside the trust boundary: as the control user, after the gate's consent
    bus = await connect_for_replay(settings, request, operator_name())
    try:
        return await replay(
            bus, settings.kafka_bootstrap_servers or "", request,
            registry_url=settings.schema_registry_url, progress=progress,
        )  # fmt: skip
    finally:
        await bus.close()
