"""The `alpha-panda` command line: one console script, one module per command group."""

from __future__ import annotations

import argparse
import difflib
import logging
import sys
from collections.abc import Sequence

from ops.commands import COMMAND_MODULES
from ops.errors import CompatibilityError, ControlRefused
from schemas.errors import ConfigError
from supervisors.errors import ConnectFailed, CredentialsError

__all__ = ["main", "build_parser"]

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alpha-panda",
        description="Algorithmic trading on supervised actors over NATS JetStream.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def _subcommand(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> argparse.ArgumentParser:
    """The deepest (sub)command parser `args` went through: `up`, `bridge replay`, ..."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = getattr(args, action.dest or "", None)
            if chosen in action.choices:
                return _subcommand(action.choices[chosen], args)
    return parser


def _refuse_unknown(
    parser: argparse.ArgumentParser, args: argparse.Namespace, extras: list[str]
) -> None:
    """Fail with the usage of the command that was meant, and the flag closest to a typo
    (argparse would print the top-level usage for an unknown flag of a subcommand)."""
    command = _subcommand(parser, args)
    flags = [o for a in command._actions for o in a.option_strings if o.startswith("--")]
    hints = []
    for extra in extras:
        name = extra.split("=", 1)[0]
        close = difflib.get_close_matches(name, flags, n=1, cutoff=0.6) if name[:1] == "-" else []
        hints.append(f"{extra} (did you mean {close[0]}?)" if close else extra)
    command.error("unrecognized arguments: " + " ".join(hints))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:
        _refuse_unknown(parser, args, extras)
    logging.basicConfig(
        level=getattr(args, "log_level", None) or logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    try:
        code: int = args.func(args)
    except (ConfigError, CompatibilityError) as exc:
        print(f"alpha-panda: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (CredentialsError, ConnectFailed, ControlRefused) as exc:
        print(f"alpha-panda: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
