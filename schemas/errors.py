"""The errors every layer shares. Each carries `retriable`, which retry loops read.

`ConfigError` lives here, in the lowest layer, so that every package's configuration
errors derive from the one class and the command line catches them all with one clause.
"""

from __future__ import annotations

__all__ = ["ConfigError", "DecodeError"]


class ConfigError(ValueError):
    """A setting, file or entry that cannot be used; the message names it and the fix.

    Never retriable: the same configuration fails the same way until a person changes it.
    Packages derive their own (`StrategyConfigError`, `RiskConfigError`, ...) to carry
    structured attributes; `alpha-panda` prints any of them and exits with status 2.
    """

    retriable: bool = False


class DecodeError(ValueError):
    """A message body that is not a valid envelope of the expected type (poison input).

    Never retriable: the same bytes decode the same way, so it is dead-lettered at once.
    """

    retriable: bool = False
