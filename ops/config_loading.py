"""Loading the domain configuration once, at start, with errors that name the fix.

Strategies come from `strategies.yaml` in embedded mode and from the PostgreSQL
`strategies` table when DATABASE_URL is set (the file seeds an empty table). Risk limits
and the paper broker's settings are JSON in ALPHA_PANDA_RISK_LIMITS / ALPHA_PANDA_PAPER.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import msgspec

from actors.errors import InstrumentError
from actors.feed.actor import FeedConfig
from actors.instruments import InstrumentBook
from actors.kite.feed_config import KiteFeedConfig, check_ws_root
from actors.kite.session import load_session
from actors.paper.matching import PaperConfig
from actors.risk.limits import RiskLimits
from actors.stores.config_store import ConfigStore
from actors.strategies.config import StrategyConfig, configs_from_rows, load_strategies_yaml
from ops.settings import Settings
from schemas.errors import ConfigError

__all__ = ["DomainConfig", "load_domain_config", "parse_json_struct", "instrument_book"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DomainConfig:
    book: InstrumentBook
    strategies: tuple[StrategyConfig, ...]
    risk_limits: RiskLimits
    paper: PaperConfig
    feed: FeedConfig
    strategies_source: str


# what to write, per variable: an error about one shows its own example, never another's
JSON_EXAMPLES: dict[str, str] = {
    "ALPHA_PANDA_RISK_LIMITS": '{"burst": 20, "max_order_notional": 500000}',
    "ALPHA_PANDA_PAPER": '{"slippage_bps": 5, "partial_fills": true}',
}

_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]*)`")


def parse_json_struct(raw: str, cls: type[msgspec.Struct], variable: str) -> msgspec.Struct:
    """`raw` (JSON) as a `cls`; a ConfigError names the variable, the problem, the valid
    keys (for an unknown one, with the closest as a suggestion) and an example of its own."""
    example = JSON_EXAMPLES.get(variable, "{}")
    try:
        data = json.loads(raw or "{}")
        return msgspec.convert(data, cls, strict=False)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{variable} is not valid JSON ({exc}); example: {example}") from None
    except msgspec.ValidationError as exc:
        unknown = _UNKNOWN_FIELD.search(str(exc))
        if unknown is None:  # a bad value: its message names the field (and a fix, mostly)
            shown = "" if "e.g." in str(exc) else f"; example: {example}"
            raise ConfigError(f"{variable}: {exc}{shown}") from None
        keys = cls.__struct_fields__
        close = difflib.get_close_matches(unknown.group(1), keys, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"{variable}: unknown key {unknown.group(1)!r}; {hint}valid keys: {', '.join(keys)}"
            f"; example: {example}"
        ) from None
    except ValueError as exc:
        raise ConfigError(f"{variable}: {exc}") from None


def _feed_config(settings: Settings) -> FeedConfig:
    mode, _, path = settings.feed_source.partition(":")
    kite = parse_json_struct(settings.kite_feed_json, KiteFeedConfig, "ALPHA_PANDA_KITE_FEED")
    assert isinstance(kite, KiteFeedConfig)
    if mode == "kite":
        check_ws_root(load_session(settings).ws_root)  # stop here, naming the variable
    try:
        return FeedConfig(
            mode=mode, seed=settings.seed, rate_per_s=settings.feed_rate,
            max_ticks=settings.feed_max_ticks, replay_path=path,
            replay_speed=settings.replay_speed, kite=kite,
        )  # fmt: skip
    except ValueError as exc:
        raise ConfigError(f"ALPHA_PANDA_FEED*: {exc}") from None


def instrument_book(settings: Settings) -> InstrumentBook:
    """ALPHA_PANDA_INSTRUMENTS (an imported Kite dump) when set, else the shipped master."""
    if settings.instruments_file is None:
        return InstrumentBook.default()
    try:
        return InstrumentBook.from_csv(settings.instruments_file)
    except (OSError, InstrumentError) as exc:
        raise ConfigError(
            f"ALPHA_PANDA_INSTRUMENTS: {exc}; fix the file, import it again with "
            "`alpha-panda zerodha instruments`, or unset it to use the shipped instruments"
        ) from None


async def load_domain_config(settings: Settings) -> DomainConfig:
    book = instrument_book(settings)
    limits = parse_json_struct(settings.risk_limits_json, RiskLimits, "ALPHA_PANDA_RISK_LIMITS")
    paper = parse_json_struct(settings.paper_json, PaperConfig, "ALPHA_PANDA_PAPER")
    assert isinstance(limits, RiskLimits)
    assert isinstance(paper, PaperConfig)
    try:
        limits.validate()
    except ValueError as exc:
        raise ConfigError(f"ALPHA_PANDA_RISK_LIMITS: {exc}") from None
    strategies, source = await _strategies(settings, book)  # StrategyConfigError: exit 2
    return DomainConfig(book, tuple(strategies), limits, paper, _feed_config(settings), source)


_PACKAGED_STRATEGIES = Path(__file__).resolve().parent.parent / "strategies.yaml"


async def _strategies(settings: Settings, book: InstrumentBook) -> tuple[list[StrategyConfig], str]:
    path = Path(settings.strategies_file)
    exists = path.exists()  # noqa: ASYNC240 - one stat at start-up
    if settings.database_url is None:
        if not exists:
            packaged = _PACKAGED_STRATEGIES
            default = settings.strategies_file == Path("strategies.yaml")
            if default and packaged.is_file():
                path = packaged
            else:
                raise ConfigError(
                    f"strategies file {path} not found: create it (see docs/trading.md) "
                    "or point ALPHA_PANDA_STRATEGIES at one"
                )
        return load_strategies_yaml(path, book), str(path)
    store = await ConfigStore.connect(settings.database_url.get_secret_value())
    try:
        rows = await store.load_strategies()
        if not rows and exists:
            for config in load_strategies_yaml(path, book):
                await store.upsert_strategy(config.to_row())
            rows = await store.load_strategies()
            log.info("seeded the strategies table from %s", path)
        return configs_from_rows(rows, book), "postgresql:strategies"
    finally:
        await store.close()
