"""The `alpha-panda` command line: one console script, one module per command group."""

from __future__ import annotations

import argparse
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
