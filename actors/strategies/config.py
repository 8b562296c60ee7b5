"""Strategy configuration: `strategies.yaml` (or rows of the strategies table) → strategies.

The file is a list of strategies (or a mapping whose `strategies` key holds that list):

    - id: momentum-banks          # unique; letters, digits, '-' and '_'
      type: momentum              # see registry.STRATEGY_TYPES
      instruments: [SBIN, 341249] # trading symbols or Kite tokens
      brokers: [paper]            # where it trades (default: [paper])
      enabled: true               # default: true
      params: {fast_window: 3, slow_window: 8, lots: 10}

Every error is a `StrategyConfigError` naming the file (and line), the strategy, the
field and the fix. Parsing is pure: it needs the instrument book, never a server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import yaml

from actors.errors import ParamError, StrategyConfigError
from actors.instruments import Instrument, InstrumentBook
from actors.strategies.base import Strategy, StrategyParams
from actors.strategies.registry import STRATEGY_TYPES, strategy_type, strategy_type_names
from schemas.names import BROKERS, Broker, parse_broker

__all__ = [
    "StrategyConfig",
    "load_strategies_yaml",
    "parse_strategies",
    "configs_from_rows",
    "build_strategies",
    "trading_on",
    "allowed_instruments",
]

FIELDS = ("id", "type", "instruments", "brokers", "enabled", "params")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_AT_PATH = re.compile(r"^(?P<problem>.*) - at `\$\.(?P<field>[^`\[]+)")
_UNKNOWN = re.compile(r"unknown field `(?P<field>[^`]+)`")
_Fail = Callable[[str, str, str], StrategyConfigError]


@dataclass(frozen=True, slots=True)
class StrategyConfig:
    """One configured strategy, validated and resolved against the instrument book."""

    id: str
    type: str
    instruments: tuple[Instrument, ...]
    params: StrategyParams
    brokers: tuple[Broker, ...] = ("paper",)
    enabled: bool = True
    source: str = ""

    @property
    def tokens(self) -> tuple[int, ...]:
        return tuple(i.instrument_token for i in self.instruments)

    def to_row(self) -> dict[str, Any]:
        """The JSON-able form `configs_from_rows` reads back (instruments as symbols)."""
        return {
            "id": self.id,
            "type": self.type,
            "instruments": [i.tradingsymbol for i in self.instruments],
            "brokers": list(self.brokers),
            "enabled": self.enabled,
            "params": msgspec.to_builtins(self.params),
        }


def load_strategies_yaml(path: str | Path, book: InstrumentBook) -> list[StrategyConfig]:
    """Read and validate a strategies file; an empty file means no strategies."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise StrategyConfigError(
            source,
            None,
            None,
            f"cannot read the file ({exc.strerror or exc})",
            "create it (see docs/trading.md) or point ALPHA_PANDA_STRATEGIES at one",
        ) from None
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise StrategyConfigError(
            where, None, None, f"not valid YAML ({problem})", "fix the YAML syntax at that line"
        ) from None
    if isinstance(data, Mapping) and set(data) == {"strategies"}:
        data = data["strategies"]
        root = root.value[0][1] if isinstance(root, yaml.MappingNode) else root
    if data is None:
        return []
    if not isinstance(data, list):
        raise StrategyConfigError(
            source,
            None,
            None,
            "the top level is not a list of strategies",
            "write a YAML list, one '- id: ...' item per strategy",
        )
    lines = (
        [n.start_mark.line + 1 for n in root.value] if isinstance(root, yaml.SequenceNode) else []
    )
    sources = [f"{source}:{line}" for line in lines] if len(lines) == len(data) else None
    return parse_strategies(data, book, source=source, sources=sources)


def parse_strategies(
    entries: Sequence[Any],
    book: InstrumentBook,
    *,
    source: str = "<strategies>",
    sources: Sequence[str] | None = None,
) -> list[StrategyConfig]:
    """Validate already-loaded entries (mappings with the fields of `FIELDS`)."""
    configs: list[StrategyConfig] = []
    seen: dict[str, str] = {}
    for n, entry in enumerate(entries):
        where = sources[n] if sources else f"{source}[{n}]"
        config = _parse_entry(entry, book, where)
        if config.id in seen:
            raise StrategyConfigError(
                where,
                config.id,
                "id",
                f"is already used at {seen[config.id]}",
                "give every strategy its own id",
            )
        seen[config.id] = where
        configs.append(config)
    return configs


def configs_from_rows(
    rows: Iterable[Mapping[str, Any]], book: InstrumentBook, *, source: str = "strategies table"
) -> list[StrategyConfig]:
    """Configs from database rows: the same fields, lists and params possibly JSON text."""
    entries, sources = [], []
    for n, row in enumerate(rows):
        entry = dict(row)
        where = f"{source} row {entry.get('id', n)!r}"
        for key in ("instruments", "brokers", "params"):
            value = entry.get(key)
            if isinstance(value, str | bytes):
                try:
                    entry[key] = json.loads(value)
                except json.JSONDecodeError as exc:
                    raise StrategyConfigError(
                        where,
                        str(entry.get("id")),
                        key,
                        f"is not valid JSON ({exc.msg})",
                        "store a JSON array (instruments, brokers) or object (params)",
                    ) from None
        entries.append({k: v for k, v in entry.items() if k in FIELDS})
        sources.append(where)
    return parse_strategies(entries, book, source=source, sources=sources)


def trading_on(configs: Iterable[StrategyConfig], broker: str) -> list[StrategyConfig]:
    """The strategies that trade on `broker`: enabled, and `broker` among their brokers."""
    name = parse_broker(broker)
    return [c for c in configs if c.enabled and name in c.brokers]


def build_strategies(configs: Iterable[StrategyConfig], broker: str) -> list[Strategy[Any]]:
    """Instantiate the enabled strategies configured for `broker`."""
    return [
        strategy_type(c.type)(c.id, c.instruments, c.params) for c in trading_on(configs, broker)
    ]


def allowed_instruments(
    configs: Iterable[StrategyConfig], broker: str
) -> dict[str, frozenset[int]]:
    """Strategy id -> the instrument tokens it may trade on `broker`: what risk lets through
    (the same strategies the runner of `broker` runs)."""
    return {c.id: frozenset(c.tokens) for c in trading_on(configs, broker)}


def _parse_entry(entry: Any, book: InstrumentBook, where: str) -> StrategyConfig:
    if not isinstance(entry, Mapping):
        raise StrategyConfigError(
            where,
            None,
            None,
            f"a strategy must be a mapping, got {type(entry).__name__}",
            f"write the strategy as a mapping with {', '.join(FIELDS)}",
        )
    sid = entry.get("id")
    if not isinstance(sid, str) or not _ID.fullmatch(sid):
        raise StrategyConfigError(
            where,
            None,
            "id",
            f"{sid!r} is not a valid id",
            "use 1-64 letters, digits, '-' or '_', starting with a letter or digit",
        )

    def fail(field: str, problem: str, fix: str) -> StrategyConfigError:
        return StrategyConfigError(where, sid, field, problem, fix)

    for key in entry:
        if key not in FIELDS:
            raise fail(str(key), "is not a strategy field", f"use only {', '.join(FIELDS)}")
    kind = entry.get("type")
    if kind not in STRATEGY_TYPES:
        raise fail(
            "type", f"unknown type {kind!r}", f"use one of {', '.join(strategy_type_names())}"
        )
    instruments = _instruments(entry.get("instruments"), book, fail)
    brokers = entry.get("brokers", ["paper"])
    if not isinstance(brokers, list) or not brokers or any(b not in BROKERS for b in brokers):
        raise fail(
            "brokers", f"{brokers!r} is not a list of brokers", f"list some of {', '.join(BROKERS)}"
        )
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise fail("enabled", f"{enabled!r} is not true or false", "write enabled: true or false")
    params = entry.get("params")
    params = {} if params is None else params
    cls = strategy_type(str(kind)).params_type
    if not isinstance(params, Mapping):
        raise fail("params", "is not a mapping", "write params as name: value pairs")
    try:
        typed = msgspec.convert(dict(params), cls)
    except msgspec.ValidationError as exc:
        raise fail(*_explain(exc, cls, str(kind))) from None
    return StrategyConfig(
        id=sid,
        type=str(kind),
        instruments=instruments,
        params=typed,
        brokers=tuple(parse_broker(b) for b in dict.fromkeys(brokers)),
        enabled=enabled,
        source=where,
    )


def _instruments(value: Any, book: InstrumentBook, fail: _Fail) -> tuple[Instrument, ...]:
    if not isinstance(value, list) or not value:
        raise fail("instruments", "must be a non-empty list", "list symbols such as [INFY, TCS]")
    found: dict[int, Instrument] = {}
    for ref in value:
        inst = book.resolve(ref) if isinstance(ref, int | str) else None
        if inst is None:
            known = ", ".join(sorted(i.tradingsymbol for i in book)[:8])
            raise fail(
                "instruments",
                f"unknown instrument {ref!r}",
                f"use a symbol or token of the instrument book (e.g. {known}, ...)",
            )
        if inst.instrument_token in found:
            raise fail("instruments", f"{ref!r} is listed twice", "list each instrument once")
        found[inst.instrument_token] = inst
    return tuple(found.values())


def _explain(
    exc: msgspec.ValidationError, cls: type[StrategyParams], kind: str
) -> tuple[str, str, str]:
    cause = exc.__cause__
    if isinstance(cause, ParamError):
        return f"params.{cause.field}", cause.problem, cause.fix
    names = ", ".join(f.name for f in msgspec.structs.fields(cls))
    message = str(exc)
    if unknown := _UNKNOWN.search(message):
        field = unknown["field"]
        return (
            f"params.{field}",
            f"is not a parameter of {kind}",
            f"remove it or use one of {names}",
        )
    if at := _AT_PATH.match(message):
        default = getattr(cls(), at["field"], None)
        example = f" such as {default}" if default is not None else ""
        return f"params.{at['field']}", at["problem"], f"give a value of that type{example}"
    return "params", message, f"{kind} parameters are {names}"
