"""Errors of configuration and operations; each message says what to do."""

from __future__ import annotations

from schemas.errors import ConfigError

# The one ConfigError is defined in schemas/errors.py, below every package; it stays
# importable from here, where the command line's usage error has always been found.
__all__ = ["ConfigError", "CompatibilityError"]


class CompatibilityError(RuntimeError):
    """The installed Python or libraries cannot run this version of alpha-panda."""

    retriable = False
