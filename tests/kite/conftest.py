"""A Kite simulator per test (`alpha-panda sim kite` on free ports), as tests/ops/sim has."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from actors.kite.order_limits import reset_limits
from tests.ops.sim.conftest import RunningSim, start_sim


@pytest.fixture
def kite_sim() -> Iterator[RunningSim]:
    reset_limits()
    with start_sim() as sim:
        yield sim
