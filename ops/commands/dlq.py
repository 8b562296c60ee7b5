"""`alpha-panda dlq list|show|redrive`: dead letters from the `DLQ` stream (no Kafka).

`list` and `show` read as the operator; `redrive` connects as the control user and
publishes only after the running control gate accepted ALPHA_PANDA_API_TOKEN and recorded
the re-drive on `audit.redrive` (ops/dlq.py).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ops.commands.common import run_async
from ops.dlq import (
    DeadLetterEntry,
    RedriveResult,
    list_dead_letters,
    redrive,
    show_dead_letter,
)
from ops.nats_access import NatsTarget, nats_target
from ops.replay_consent import REPLAY_USER
from ops.settings import load_settings
from supervisors.bus import Bus

__all__ = ["register", "render_list", "render_entry"]

T = TypeVar("T")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("dlq", help="dead letters from the DLQ stream: list, show, re-drive")
    verbs = parser.add_subparsers(dest="dlq_command", metavar="SUBCOMMAND", required=True)

    ls = verbs.add_parser("list", help="seq, time, original subject, error, attempts")
    ls.add_argument("--subject", help="original subject, NATS wildcards allowed (paper.>)")
    ls.add_argument("--limit", type=int, default=50, help="the newest N (0 = all; default 50)")
    ls.add_argument("--json", action="store_true", help="print a JSON array")
    ls.set_defaults(func=_list)

    show = verbs.add_parser("show", help="one dead letter: its message and its error")
    show.add_argument("seq", type=int, help="the DLQ stream sequence (from `dlq list`)")
    show.add_argument("--json", action="store_true", help="print a JSON object")
    show.set_defaults(func=_show)

    red = verbs.add_parser(
        "redrive", help="republish to the original subject (needs ALPHA_PANDA_API_TOKEN)"
    )
    red.add_argument("seqs", type=int, nargs="*", metavar="SEQ", help="DLQ sequences")
    red.add_argument("--all", action="store_true", help="every dead letter (or of --subject)")
    red.add_argument("--subject", help="with --all: only these original subjects")
    red.add_argument("--reason", default="", help="recorded in the audit trail")
    red.add_argument("--json", action="store_true", help="print the result as JSON")
    red.set_defaults(func=_redrive)


async def _with_bus(target: NatsTarget, name: str, work: Callable[[Bus], Awaitable[T]]) -> T:
    bus = await target.connect(name)
    try:
        return await work(bus)
    finally:
        await bus.close()


def _list(args: argparse.Namespace) -> int:
    target = nats_target(load_settings())
    entries = run_async(
        _with_bus(
            target, "alpha-panda:dlq", lambda b: list_dead_letters(b, args.subject, args.limit)
        )
    )
    if args.json:
        print(json.dumps([e.as_dict(with_payload=False) for e in entries], indent=2))
        return 0
    print(render_list(entries, args.subject))
    return 0


def _show(args: argparse.Namespace) -> int:
    target = nats_target(load_settings())
    entry = run_async(_with_bus(target, "alpha-panda:dlq", lambda b: show_dead_letter(b, args.seq)))
    print(json.dumps(entry.as_dict(), indent=2) if args.json else render_entry(entry))
    return 0


def _redrive(args: argparse.Namespace) -> int:
    if bool(args.seqs) == bool(args.all):
        print("alpha-panda dlq redrive: name SEQ... or --all (with --subject S to narrow it)",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.subject and not args.all:
        print("alpha-panda dlq redrive: --subject goes with --all", file=sys.stderr)
        return 2
    settings = load_settings()
    token = settings.api_token.get_secret_value() if settings.api_token else None
    target = nats_target(settings, REPLAY_USER)  # inside the boundary, as the control user
    who = f"{getpass.getuser()}@cli"

    def work(bus: Bus) -> Awaitable[RedriveResult]:
        seqs = None if args.all else args.seqs
        return redrive(bus, token, seqs, who, subject=args.subject, reason=args.reason)

    result = run_async(_with_bus(target, "alpha-panda:dlq-redrive", work))
    data = result.as_dict()
    if args.json:
        print(json.dumps(data))
        return 0
    print(
        f"re-driven {data['redriven']}, already in their streams {data['duplicates']}, "
        f"not found {data['missing']} (audit {data['audit_id']})"
    )
    for seq, outcome in result.outcomes.items():
        new = result.published_seqs.get(seq)
        print(f"  {seq}: {outcome}" + (f" (now seq {new} of its stream)" if new else ""))
    return 0 if data["missing"] == 0 else 1


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render_list(entries: list[DeadLetterEntry], subject: str | None = None) -> str:
    if not entries:
        return "no dead letters" + (f" of {subject}" if subject else "")
    head = f"{'seq':>7}  {'stored (UTC)':<19}  {'original subject':<30}  {'att':>3}  error"
    lines = [head]
    for e in entries:
        lines.append(
            f"{e.seq:>7}  {e.stored_at.strftime('%Y-%m-%d %H:%M:%S'):<19}  "
            f"{_clip(e.subject, 30):<30}  {e.attempts:>3}  "
            f"{_clip(f'{e.error_type}: {e.error}', 100)}"
        )
    lines.append(f"{len(entries)} dead letter(s); `alpha-panda dlq show SEQ` for one")
    return "\n".join(lines)


def render_entry(e: DeadLetterEntry) -> str:
    lines = [
        f"dead letter {e.seq}, stored {e.stored_at.isoformat(timespec='seconds')}",
        f"  original subject  {e.subject}"
        + (f" (seq {e.original_seq} of its stream)" if e.original_seq else ""),
        f"  actor             {e.actor}" + (f" (broker {e.broker})" if e.broker else ""),
        f"  attempts          {e.attempts}",
        f"  error             {e.error_type}: {e.error}",
    ]
    if e.headers:
        lines.append("  headers")
        lines.extend(f"    {k}: {v}" for k, v in sorted(e.headers.items()))
    lines.append("  message")
    lines.append("    " + _payload_text(e))
    return "\n".join(lines)


def _payload_text(e: DeadLetterEntry) -> str:
    if e.payload_encoding != "utf-8":
        return f"({e.payload_encoding}) {e.payload}"
    try:
        parsed: Any = json.loads(e.payload)
    except ValueError:
        return e.payload
    return json.dumps(parsed, indent=2).replace("\n", "\n    ")
