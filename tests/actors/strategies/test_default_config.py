"""The shipped strategies.yaml makes the paper pipeline trade within seconds of mock data."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

from actors.feed.gbm import GbmFeed
from actors.instruments import InstrumentBook
from actors.strategies.config import build_strategies, load_strategies_yaml
from actors.strategies.router import StrategyRouter
from ops.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
BOOK = InstrumentBook.default()
TICKS_IN_30_S = 3000  # the embedded feed's ~100 ticks/s


def test_every_enabled_paper_strategy_signals_within_thirty_seconds_of_mock_feed() -> None:
    configs = load_strategies_yaml(ROOT / "strategies.yaml", BOOK)
    router = StrategyRouter(build_strategies(configs, "paper"))
    feed = GbmFeed(BOOK, 42)
    signals: Counter[str] = Counter()
    notional: dict[str, Decimal] = {}
    for n in range(TICKS_IN_30_S):
        result = router.on_tick(feed.next_tick(), n)
        assert result.errors == []
        for s in result.signals:
            signals[s.strategy_id] += 1
            notional[s.strategy_id] = max(
                notional.get(s.strategy_id, Decimal(0)), s.quantity * s.reference_price
            )
    paper = {c.id for c in configs if c.enabled and "paper" in c.brokers}
    assert len(paper) >= 4
    assert set(signals) == paper
    assert sum(signals.values()) >= 50
    assert notional["momentum-oversized"] > Decimal("10000000")  # > 1 crore: for risk to refuse


def test_the_default_config_spans_several_types_and_many_instruments() -> None:
    configs = load_strategies_yaml(ROOT / "strategies.yaml", BOOK)
    assert {c.type for c in configs} == {"momentum", "mean_reversion", "rsi"}
    assert len({t for c in configs for t in c.tokens}) >= 15
    live = [c for c in configs if "zerodha" in c.brokers]
    assert live
    # live trading is opt-in: zerodha trades only when ALPHA_PANDA_BROKERS names it (the
    # default is paper alone), and a strategy for zerodha alone is shipped disabled
    assert Settings.model_fields["brokers_csv"].default == "paper"
    assert all(not c.enabled for c in live if set(c.brokers) == {"zerodha"})
