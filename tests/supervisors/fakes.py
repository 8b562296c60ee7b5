"""In-process children for supervisor tests: no servers, fully controllable."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from supervisors.backoff import Backoff
from supervisors.child import ChildSpec, Ready, Restart
from supervisors.supervisor import Strategy, Supervisor, SupervisorSpec

FAST = Backoff(min_s=0.001, max_s=0.01, jitter=0.1)

#: the `running` fixture: starts a supervisor in the background, returns it and its task
Running = Callable[[SupervisorSpec], Awaitable[tuple[Supervisor, "asyncio.Task[None]"]]]


class Crashed(RuntimeError):
    pass


class FakeChild:
    """Records start/stop in a shared journal; `crash()` or `finish()` ends it from a test."""

    def __init__(
        self, name: str, journal: list[tuple[str, str]], *, fail_start: bool = False,
        ignore_stop: bool = False,
    ) -> None:  # fmt: skip
        self.name = name
        self.journal = journal
        self.fail_start = fail_start
        self.ignore_stop = ignore_stop
        self._stop = asyncio.Event()
        self._end: asyncio.Future[BaseException | None] | None = None

    async def run(self, ready: Ready) -> None:
        self.journal.append(("start", self.name))
        if self.fail_start:
            raise Crashed(f"{self.name} failed to start")
        self._end = asyncio.get_running_loop().create_future()
        ready()
        try:
            stop_wait = asyncio.ensure_future(self._stop.wait())
            waiters: set[asyncio.Future[Any]] = {stop_wait, self._end}
            await asyncio.wait(waiters, return_when="FIRST_COMPLETED")
            stop_wait.cancel()
            error = self._end.result() if self._end.done() else None
            if error is not None:
                raise error
            if self.ignore_stop and not self._end.done():
                await asyncio.sleep(3600)
        finally:
            self.journal.append(("stop", self.name))

    def request_stop(self) -> None:
        self._stop.set()

    def status(self) -> dict[str, Any]:
        return {"kind": "fake"}

    def crash(self, exc: BaseException | None = None) -> None:
        assert self._end is not None
        self._end.set_result(exc or Crashed(f"{self.name} crashed"))

    def finish(self) -> None:
        assert self._end is not None
        self._end.set_result(None)


class Family:
    """Factories for named fake children, keeping the latest instance of each."""

    def __init__(self) -> None:
        self.journal: list[tuple[str, str]] = []
        self.latest: dict[str, FakeChild] = {}
        self.fail_start: set[str] = set()
        self.ignore_stop: set[str] = set()
        self.fail_next: dict[str, int] = {}  # fail the next n starts of a child, then succeed

    def spec(
        self, name: str, restart: Restart = Restart.PERMANENT, shutdown_s: float = 1.0
    ) -> ChildSpec:
        def start() -> FakeChild:
            fail = name in self.fail_start or self.fail_next.get(name, 0) > 0
            if self.fail_next.get(name, 0) > 0:
                self.fail_next[name] -= 1
            child = FakeChild(name, self.journal, fail_start=fail,
                              ignore_stop=name in self.ignore_stop)  # fmt: skip
            self.latest[name] = child
            return child

        return ChildSpec(name=name, start=start, restart=restart, shutdown_s=shutdown_s,
                         start_timeout_s=2.0)  # fmt: skip

    def starts(self, name: str) -> int:
        return sum(1 for e, n in self.journal if e == "start" and n == name)

    def events_since(self, mark: int) -> list[tuple[str, str]]:
        return self.journal[mark:]


def supervisor(
    name: str, children: list[ChildSpec], strategy: Strategy = Strategy.ONE_FOR_ONE,
    max_restarts: int = 5, period_s: float = 5.0, **kw: Any,
) -> SupervisorSpec:  # fmt: skip
    kw.setdefault("backoff", FAST)
    return SupervisorSpec(name=name, children=children, strategy=strategy,
                          max_restarts=max_restarts, period_s=period_s, **kw)  # fmt: skip


async def wait_for(cond: Any, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.005)
