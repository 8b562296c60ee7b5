"""Parameter grids: `--grid KEY=V1,V2,...` options → the strategy configurations of each point.

A key addresses strategy parameters:
- `fast_window=5,10` sets `fast_window` on every selected strategy that has it (at least
  one must);
- `momentum-banks.fast_window=5,10` sets it on that strategy only (ids hold no '.').

The grid is every combination of the keys' values, the first key varying slowest, in the
order the options were given; values are as typed (text), converted to each parameter's
type as strategies.yaml would be. A value no valid combination holds
(`fast_window=abc`, `lots=0`) is an error before anything runs; a combination invalid only
together (`fast_window=20` with `slow_window=10`, beside valid ones) is skipped and listed.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from actors.errors import ParamError
from actors.strategies.config import StrategyConfig
from ops.backtest.errors import SweepError

__all__ = ["MAX_POINTS", "GridAxis", "GridPoint", "Grid", "parse_grid", "build_grid"]

MAX_POINTS = 10_000
"""The most combinations one grid may have."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UNSAFE = re.compile(r"[^A-Za-z0-9._=,-]")


@dataclass(frozen=True, slots=True)
class GridAxis:
    """One `--grid` option: a parameter (of one strategy, or of all that have it) and values."""

    strategy: str | None
    param: str
    values: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.strategy}.{self.param}" if self.strategy else self.param


@dataclass(frozen=True, slots=True)
class GridPoint:
    """One combination: each key's value (in the order of the options) and the strategies."""

    index: int
    values: tuple[tuple[str, str], ...]
    strategies: tuple[StrategyConfig, ...]

    @property
    def label(self) -> str:
        """`fast_window=5,slow_window=20`; `(configured)` for the configured parameters."""
        return ",".join(f"{k}={v}" for k, v in self.values) or "(configured)"

    @property
    def slug(self) -> str:
        """A directory name: the label with anything outside [A-Za-z0-9._=,-] as '_'."""
        return _UNSAFE.sub("_", self.label) if self.values else "configured"

    @property
    def params(self) -> dict[str, str]:
        return dict(self.values)


@dataclass(frozen=True, slots=True)
class Grid:
    """The runnable points, and the combinations skipped (label, why)."""

    points: tuple[GridPoint, ...]
    skipped: tuple[tuple[str, str], ...] = ()


def parse_grid(options: Sequence[str]) -> list[GridAxis]:
    """Parse `--grid` options (syntax only: `build_grid` checks them against strategies)."""
    axes: list[GridAxis] = []
    for text in options:
        key, sep, rest = text.partition("=")
        key = key.strip()
        values = tuple(v.strip() for v in rest.split(","))
        if not sep or not key:
            raise SweepError(
                f"--grid {text!r}: write KEY=V1,V2,... such as fast_window=5,10 "
                "(or STRATEGY.PARAM=... for one strategy)"
            )
        if not all(values):
            raise SweepError(
                f"--grid {text!r}: an empty value; list the values separated by commas, "
                "such as fast_window=5,10"
            )
        strategy, dot, param = key.rpartition(".")
        if not _NAME.fullmatch(param) or (dot and not strategy):
            raise SweepError(
                f"--grid {text!r}: {key!r} is not a parameter name; use a name such as "
                "fast_window, or STRATEGY.PARAM such as momentum-banks.fast_window"
            )
        if len(set(values)) != len(values):
            raise SweepError(f"--grid {text!r}: a value is listed twice; list each value once")
        axis = GridAxis(strategy or None, param, values)
        if any(a.key == axis.key for a in axes):
            raise SweepError(f"--grid {axis.key} is given twice; give each key once")
        axes.append(axis)
    return axes


def _param_names(config: StrategyConfig) -> list[str]:
    return [f.name for f in msgspec.structs.fields(type(config.params))]


def _targets(axis: GridAxis, strategies: Sequence[StrategyConfig]) -> list[StrategyConfig]:
    """The strategies an axis sets; an unknown key names what would be valid."""
    if axis.strategy is not None:
        named = [c for c in strategies if c.id == axis.strategy]
        if not named:
            ids = ", ".join(c.id for c in strategies)
            raise SweepError(
                f"--grid {axis.key}: no selected strategy {axis.strategy!r}; "
                f"the selected strategies are {ids}"
            )
        if axis.param not in _param_names(named[0]):
            raise SweepError(
                f"--grid {axis.key}: {axis.strategy} ({named[0].type}) has no parameter "
                f"{axis.param!r}; its parameters are {', '.join(_param_names(named[0]))}"
            )
        return named
    having = [c for c in strategies if axis.param in _param_names(c)]
    if not having:
        by_type: dict[str, list[str]] = {}
        for c in strategies:
            by_type.setdefault(c.type, []).append(c.id)
        valid = "; ".join(
            f"{', '.join(ids)} ({kind}): {', '.join(_param_names(_first(strategies, kind)))}"
            for kind, ids in by_type.items()
        )
        raise SweepError(
            f"--grid {axis.key}: no selected strategy has a parameter {axis.param!r}; "
            f"valid parameters are {valid}"
        )
    return having


def _first(strategies: Sequence[StrategyConfig], kind: str) -> StrategyConfig:
    return next(c for c in strategies if c.type == kind)


def _with_params(config: StrategyConfig, changes: dict[str, str]) -> StrategyConfig:
    """`config` with `changes` (text values) applied; raises ParamError or ValidationError."""
    params = msgspec.to_builtins(config.params)
    params.update(changes)
    # strict=False reads "5" as an int and "true" as a bool, as a YAML file would give them
    typed = msgspec.convert(params, type(config.params), strict=False)
    return StrategyConfig(
        id=config.id, type=config.type, instruments=config.instruments, params=typed,
        brokers=config.brokers, enabled=config.enabled, source=config.source,
    )  # fmt: skip


def build_grid(axes: Sequence[GridAxis], strategies: Sequence[StrategyConfig]) -> Grid:
    """Every combination of the axes' values applied to `strategies`; no axes: one point
    with the configured parameters."""
    size = math.prod(len(a.values) for a in axes)
    if size > MAX_POINTS:
        raise SweepError(
            f"--grid: {size:,} combinations is more than {MAX_POINTS:,}; give fewer values "
            "(or sweep in stages, narrowing around the best)"
        )
    targets = [_targets(axis, strategies) for axis in axes]
    for (a, ta), (b, tb) in itertools.combinations(zip(axes, targets, strict=True), 2):
        both = {c.id for c in ta} & {c.id for c in tb}
        if a.param == b.param and both:
            raise SweepError(
                f"--grid {a.key} and --grid {b.key} both set {a.param} of "
                f"{', '.join(sorted(both))}; give one of them"
            )
    points: list[GridPoint] = []
    skipped: list[tuple[str, str]] = []
    for combo in itertools.product(*(a.values for a in axes)):
        values = tuple((a.key, v) for a, v in zip(axes, combo, strict=True))
        label = ",".join(f"{k}={v}" for k, v in values)
        try:
            configs = tuple(_point_config(c, axes, targets, combo) for c in strategies)
        except _Invalid as exc:
            skipped.append((label, str(exc)))
            continue
        points.append(GridPoint(index=len(points), values=values, strategies=configs))
    _check_values(axes, points, skipped)
    return Grid(points=tuple(points), skipped=tuple(skipped))


def _check_values(
    axes: Sequence[GridAxis], points: Sequence[GridPoint], skipped: Sequence[tuple[str, str]]
) -> None:
    """A value that no valid combination holds is an error (`fast_window=abc`, `lots=0`)."""
    for axis in axes:
        for value in axis.values:
            if any((axis.key, value) in p.values for p in points):
                continue
            term = f"{axis.key}={value}"
            why = next(w for label, w in skipped if term in label.split(","))
            raise SweepError(
                f"--grid {term}: no combination with it is valid: {why}; change the values"
            )


def _point_config(
    config: StrategyConfig,
    axes: Sequence[GridAxis],
    targets: Sequence[Sequence[StrategyConfig]],
    combo: Sequence[str],
) -> StrategyConfig:
    changes = {
        axis.param: value
        for axis, chosen, value in zip(axes, targets, combo, strict=True)
        if any(c.id == config.id for c in chosen)
    }
    if not changes:
        return config
    try:
        return _with_params(config, changes)
    except ParamError as exc:  # raised by __post_init__ outside a conversion
        raise _Invalid(f"{exc.field} of {config.id}: {exc.problem} ({exc.fix})") from None
    except msgspec.ValidationError as exc:
        cause = exc.__cause__
        if isinstance(cause, ParamError):
            raise _Invalid(f"{cause.field} of {config.id}: {cause.problem} ({cause.fix})") from None
        problem, _, field = str(exc).replace("`", "").partition(" - at $.")
        raise _Invalid(f"{field or 'params'} of {config.id}: {problem}") from None


class _Invalid(Exception):
    """A combination a strategy cannot take; the message says why."""
