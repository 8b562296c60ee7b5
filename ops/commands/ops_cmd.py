"""`alpha-panda ops bootstrap`: create or update streams, and the Kafka topics with their
`.dlq` twins when KAFKA_BOOTSTRAP_SERVERS is set, then check the topics against the overlay."""

from __future__ import annotations

import argparse

from bridge.topics.admin import bootstrap_topics, check_topics
from ops.bootstrap import bootstrap_streams
from ops.commands import nats_config
from ops.commands.common import nats_target, run_async
from ops.settings import Env, load_settings

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("ops", help="operations: bootstrap streams and topics, NATS users")
    ops_sub = p.add_subparsers(dest="ops_command", metavar="OPS_COMMAND", required=True)
    b = ops_sub.add_parser("bootstrap", help="create or update streams and topics (idempotent)")
    b.add_argument("--env", choices=("dev", "test", "production"), help="overlay to apply")
    b.set_defaults(func=_bootstrap)
    nats_config.register(ops_sub)


def _bootstrap(args: argparse.Namespace) -> int:
    settings = load_settings()
    env: Env = args.env or settings.env
    target = nats_target(settings)

    async def run() -> dict[str, str]:
        bus = await target.connect("alpha-panda:bootstrap")
        try:
            results = {f"stream {k}": v for k, v in (await bootstrap_streams(bus, env)).items()}
        finally:
            await bus.close()
        if settings.kafka_bootstrap_servers:
            topics = await bootstrap_topics(settings.kafka_bootstrap_servers, env)
            results.update({f"topic {k}": v for k, v in topics.items()})
            for problem in await check_topics(settings.kafka_bootstrap_servers, env):
                results[f"check {len(results)}"] = problem
        return results

    results = run_async(run())
    for name, result in results.items():
        print(f"{name}: {result}")
    return 1 if any(k.startswith("check") or "error" in v for k, v in results.items()) else 0
