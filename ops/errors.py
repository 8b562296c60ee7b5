"""Errors of configuration and operations; each message says what to do."""

from __future__ import annotations

from schemas.errors import ConfigError

# The one ConfigError is defined in schemas/errors.py, below every package; it stays
# importable from here, where the command line's usage error has always been found.
__all__ = ["ConfigError", "CompatibilityError", "ControlRefused"]


class CompatibilityError(RuntimeError):
    """The installed Python or libraries cannot run this version of alpha-panda."""

    retriable = False


class ControlRefused(RuntimeError):
    """The control gate refused (or nobody answered) a token-gated action."""

    retriable = False
