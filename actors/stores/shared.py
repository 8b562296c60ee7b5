"""The stores one process shares among its actors, opened on first use, closed at exit.

Actors restart; connections and the file ledger's lock should not. The composition root
creates one `Stores`, hands it to the actors, and closes it when the launcher stops.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from actors.stores.ledger import Ledger, open_ledger
from actors.stores.pipeline_metrics import PipelineMetrics
from actors.stores.read_models import ReadModelStore, open_read_models

__all__ = ["Stores"]


class Stores:
    def __init__(self, redis_url: str | None, database_url: str | None, data_dir: Path) -> None:
        self._redis_url = redis_url
        self._database_url = database_url
        self._data_dir = data_dir
        self.read_models: ReadModelStore = open_read_models(redis_url)
        self.metrics = PipelineMetrics(self.read_models)
        self._ledger: Ledger | None = None
        self._lock = asyncio.Lock()

    @property
    def kind(self) -> dict[str, str]:
        return {
            "read_models": "redis" if self._redis_url else "memory",
            "ledger": "postgresql" if self._database_url else f"file:{self._data_dir / 'ledger'}",
        }

    async def ledger(self) -> Ledger:
        async with self._lock:
            if self._ledger is None:
                self._ledger = await open_ledger(self._database_url, self._data_dir)
            return self._ledger

    async def close(self) -> None:
        try:
            await self.metrics.flush()
        except Exception:  # the store is gone: the counts were best effort
            pass
        if self._ledger is not None:
            ledger, self._ledger = self._ledger, None
            await ledger.close()
        await self.read_models.close()
