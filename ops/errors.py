"""Errors of configuration and operations; each message says what to do."""

from __future__ import annotations

__all__ = ["ConfigError", "CompatibilityError", "ControlRefused"]


class ConfigError(ValueError):
    """A setting is missing, malformed or unsafe; the message names the variable and the fix."""


class CompatibilityError(RuntimeError):
    """The installed Python or libraries cannot run this version of alpha-panda."""


class ControlRefused(RuntimeError):
    """The control gate refused (or nobody answered) a token-gated action."""
