"""OTP-style supervisors: one_for_one, one_for_all, rest_for_one.

Semantics (docs/architecture.md states them for users):
- children start in list order, each only after the previous reported ready; stop in reverse;
- a child's exit is restarted per its type (permanent / transient / temporary) and the
  supervisor's strategy, after a jittered exponential backoff;
- more than `max_restarts` restarts within `period_s` seconds and the supervisor gives up:
  it runs its `on_give_up` hook (a broker subtree publishes `control.halt.<broker>`), stops
  its children and raises `SupervisorGaveUp` to its parent;
- a child that fails before it is ready is restarted like any other failure (counted
  towards the intensity), and the children after it start only once it is ready — on the
  supervisor's first start and on every restart of a strategy alike;
- an operator may restart a child by name (`restart_child`, anywhere in the tree below):
  the child's supervisor applies its strategy as for an exit, stopping within each child's
  `shutdown_s` and starting in order, but without backoff and without counting towards the
  intensity (a person asking is not a crash loop); a lease gate's standby subtree is refused,
  since a restart must never start actors on a process that does not hold their lease.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

import msgspec

from supervisors.backoff import Backoff
from supervisors.child import Child, ChildSpec, Ready, Restart
from supervisors.errors import StartFailed, SupervisorGaveUp, is_retriable
from supervisors.status import SUPERVISOR, StatusNode
from supervisors.telemetry.metrics import count_restart

__all__ = ["Strategy", "SupervisorSpec", "Supervisor", "RestartOutcome", "UnknownChild"]

log = logging.getLogger(__name__)


class Strategy(StrEnum):
    ONE_FOR_ONE = "one_for_one"
    ONE_FOR_ALL = "one_for_all"
    REST_FOR_ONE = "rest_for_one"


@dataclass(frozen=True, slots=True)
class SupervisorSpec:
    name: str
    children: Sequence[ChildSpec]
    strategy: Strategy = Strategy.ONE_FOR_ONE
    max_restarts: int = 5
    period_s: float = 30.0
    backoff: Backoff = field(default_factory=Backoff)
    broker: str | None = None
    on_give_up: Callable[[str], Awaitable[None]] | None = None

    def __post_init__(self) -> None:
        names = [c.name for c in self.children]
        if len(set(names)) != len(names):
            raise ValueError(f"supervisor {self.name!r}: child names must be unique, got {names}")
        if self.max_restarts < 0 or self.period_s <= 0:
            raise ValueError(
                f"supervisor {self.name!r}: need max_restarts >= 0 and period_s > 0 "
                f"(got {self.max_restarts}, {self.period_s})"
            )

    def as_child(
        self, *, restart: Restart = Restart.PERMANENT, shutdown_s: float = 30.0
    ) -> ChildSpec:
        """This supervisor as a child of another (nested trees)."""
        return ChildSpec(
            name=self.name,
            start=lambda: Supervisor(self),
            restart=restart,
            shutdown_s=shutdown_s,
            start_timeout_s=max(30.0, sum(c.start_timeout_s for c in self.children)),
            is_supervisor=True,
        )


class UnknownChild(LookupError):
    """No child of that name anywhere in the tree; the message lists the valid names."""

    def __init__(self, name: str, valid: Sequence[str]) -> None:
        super().__init__(f"no actor named {name!r} in this tree; valid: {', '.join(valid)}")
        self.name = name
        self.valid = tuple(valid)


@dataclass(frozen=True, slots=True)
class RestartOutcome:
    """What an operator's restart did: `restarted` False says why not in `reason`."""

    name: str
    restarted: bool
    reason: str
    #: the children restarted with it, in start order (its supervisor's strategy)
    affected: tuple[str, ...] = ()


@dataclass(eq=False)
class _RestartRequest:
    slot: _Slot
    done: asyncio.Future[RestartOutcome]


_STOP = object()
# What a slot says of its child itself: a leaf child's own keys of these names give way.
_SLOT_KEYS = frozenset(
    {"name", "kind", "broker", "state", "restart", "restarts", "last_error", "last_error_at"}
)


def _broker_of(slot: _Slot) -> str | None:
    """The broker a child works for, as its last status says (None: shared or unknown)."""
    try:
        own = slot.child.status() if slot.child is not None else {}
    except Exception:  # a child that cannot say: count the restart without a broker
        return None
    broker = own.broker if isinstance(own, StatusNode) else own.get("broker")
    return str(broker) if broker else None


@runtime_checkable
class _Restartable(Protocol):
    """A child that holds children of its own an operator may restart (a supervisor, a
    lease gate)."""

    def child_names(self) -> list[str]: ...

    async def restart_child(self, name: str) -> RestartOutcome: ...


def _nested_names(slot: _Slot) -> list[str]:
    child = slot.child
    return child.child_names() if isinstance(child, _Restartable) else []


def _gave_up(exc: BaseException) -> bool:
    """A child that failed with an error retrying cannot help (`is_retriable` False) gave
    up on purpose, like OTP's `{shutdown, Reason}` exit: a transient child is not restarted."""
    return not is_retriable(exc)


@dataclass(eq=False)
class _Slot:
    spec: ChildSpec
    child: Child | None = None
    task: asyncio.Task[None] | None = None
    generation: int = 0
    state: str = "idle"
    restarts: int = 0
    recent: deque[float] = field(default_factory=deque)
    last_error: str | None = None
    last_error_at: float | None = None
    kill_error: BaseException | None = None
    killing: bool = False
    exit_error: BaseException | None = None


class Supervisor:
    """Runs a list of child specs under a restart strategy. Implements `Child` itself."""

    def __init__(
        self,
        spec: SupervisorSpec,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.state = "idle"
        self.restarts_total = 0
        self._clock = clock
        self._rng = rng or random.Random()
        self._slots = [_Slot(c) for c in spec.children]
        self._restart_times: deque[float] = deque()
        self._events: asyncio.Queue[Any] = asyncio.Queue()
        self._stop = asyncio.Event()
        self.gave_up: SupervisorGaveUp | None = None

    # --- Child protocol ----------------------------------------------------------------------

    def request_stop(self) -> None:
        if not self._stop.is_set():
            self._stop.set()
            self._events.put_nowait(_STOP)

    async def run(self, ready: Ready) -> None:
        self.state = "starting"
        try:
            for slot in self._slots:
                if self._stop.is_set():
                    break
                await self._start_until_ready(slot)
            if not self._stop.is_set():
                self.state = "running"
                ready()
            while True:
                event = await self._events.get()
                if event is _STOP:
                    break
                if isinstance(event, _RestartRequest):
                    try:
                        await self._operator_restart(event)
                    finally:  # giving up on a failing start: the caller must not hang
                        if not event.done.done():
                            event.done.set_result(RestartOutcome(
                                event.slot.spec.name, False,
                                f"{self.name} gave up restarting it: {self.gave_up}",
                            ))  # fmt: skip
                    continue
                slot, generation, exc = event
                if generation != slot.generation:
                    continue  # exit of an instance we stopped on purpose
                await self._on_child_exit(slot, exc)
        except asyncio.CancelledError:
            self.state = "stopping"
            await self._kill_all()
            self.state = "stopped"
            raise
        except BaseException:
            self.state = "stopping"
            await self._stop_all()
            self.state = "gave_up" if self.gave_up else "failed"
            raise
        self.state = "stopping"
        try:
            await self._stop_all()
        except asyncio.CancelledError:  # cancelled mid-stop: no child may outlive us
            await self._kill_all()
            self.state = "stopped"
            raise
        self.state = "stopped"

    # --- operator control ---------------------------------------------------------------------

    def child_names(self) -> list[str]:
        """Every child's name in the tree below, depth first (what `restart_child` accepts)."""
        names: list[str] = []
        for slot in self._slots:
            names.append(slot.spec.name)
            names.extend(_nested_names(slot))
        return names

    async def restart_child(self, name: str) -> RestartOutcome:
        """Restart the child `name` (anywhere below) as an operator asked: its supervisor's
        strategy, the normal stop then start, no backoff and not counted towards the
        intensity. Raises `UnknownChild` (naming the valid ones) when no child has the name.
        """
        for slot in self._slots:
            if slot.spec.name == name:
                return await self._request_restart(slot)
        for slot in self._slots:
            nested = slot.child
            if name in _nested_names(slot) and isinstance(nested, _Restartable):
                return await nested.restart_child(name)
        raise UnknownChild(name, self.child_names())

    async def _request_restart(self, slot: _Slot) -> RestartOutcome:
        refusal = self._refusal(slot)
        if refusal is not None:
            return RestartOutcome(slot.spec.name, False, refusal)
        done: asyncio.Future[RestartOutcome] = asyncio.get_running_loop().create_future()
        # the run loop does it, between exits, so a restart never races a crash's restart
        self._events.put_nowait(_RestartRequest(slot, done))
        stopping = asyncio.create_task(self._stop.wait())
        try:
            waiting: set[asyncio.Future[Any]] = {done, stopping}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if done.done():
            return done.result()
        done.cancel()  # the loop ended before it came to it
        return RestartOutcome(slot.spec.name, False, f"{self.name} is stopping; nothing restarted")

    def _refusal(self, slot: _Slot) -> str | None:
        name = f"{self.name}/{slot.spec.name}"
        if self._stop.is_set() or self.state != "running":
            return f"{self.name} is {self.state}, not running; nothing restarted"
        if slot.state not in ("running", "stopped", "failed"):
            return f"{name} is {slot.state}; try again once it is running"
        try:
            own = slot.child.status() if slot.child is not None else {}
        except Exception:
            own = {}
        state = own.state if isinstance(own, StatusNode) else own.get("state")
        if state == "standby":
            return (
                f"{name} is a standby (this process does not hold its lease); a restart "
                "must not start it here: restart it in the process that owns the lease"
            )
        return None

    async def _operator_restart(self, request: _RestartRequest) -> None:
        slot = request.slot
        refusal = self._refusal(slot)
        if refusal is not None:
            outcome = RestartOutcome(slot.spec.name, False, refusal)
        else:
            affected = self._affected(slot)
            log.warning("%s/%s: restart requested by an operator (%s)", self.name,
                        slot.spec.name, ", ".join(s.spec.name for s in affected))  # fmt: skip
            for other in reversed(affected):
                await self._stop_slot(other)
            started = True
            for s in affected:
                if self._stop.is_set():
                    started = False
                    break
                self._count_restart(s)
                started = await self._start_until_ready(s) and started
            names = tuple(s.spec.name for s in affected)
            if started:
                outcome = RestartOutcome(slot.spec.name, True, "restarted", names)
            else:
                outcome = RestartOutcome(slot.spec.name, False, "stopped; its start did not "
                                         "complete (see its last_error)", names)  # fmt: skip
        if not request.done.done():  # cancelled when the caller saw us stopping
            request.done.set_result(outcome)

    def _affected(self, slot: _Slot) -> list[_Slot]:
        """The children a restart of `slot` restarts under this supervisor's strategy."""
        index = self._slots.index(slot)
        if self.spec.strategy is Strategy.ONE_FOR_ONE:
            affected = [slot]
        elif self.spec.strategy is Strategy.ONE_FOR_ALL:
            affected = list(self._slots)
        else:
            affected = self._slots[index:]
        return [s for s in affected if s is slot or s.state != "stopped" or s.task is not None]

    def status(self) -> StatusNode:
        return StatusNode(
            name=self.name,
            kind=SUPERVISOR,
            strategy=str(self.spec.strategy),
            state=self.state,
            broker=self.spec.broker,
            restarts=self.restarts_total,
            max_restarts=self.spec.max_restarts,
            period_s=self.spec.period_s,
            children=[self._slot_status(s) for s in self._slots],
        )

    # --- internals ---------------------------------------------------------------------------

    def _slot_status(self, slot: _Slot) -> StatusNode:
        own = slot.child.status() if slot.child is not None else {}
        if isinstance(own, StatusNode):  # a nested supervisor: its subtree
            node = own
        else:  # a leaf child: its own figures; the slot's facts below take precedence
            figures = {k: v for k, v in own.items() if k not in _SLOT_KEYS}
            node = StatusNode(name=slot.spec.name, kind=str(own.get("kind", "actor")),
                              broker=own.get("broker"), figures=figures)  # fmt: skip
        # A started child may be a standby (a lease gate without its lease): say so.
        standby = slot.state == "running" and node.state == "standby"
        return msgspec.structs.replace(
            node,
            state="standby" if standby else slot.state,
            restart=str(slot.spec.restart),
            restarts=slot.restarts,
            last_error=slot.last_error,
            last_error_at=(
                datetime.fromtimestamp(slot.last_error_at, UTC).isoformat()
                if slot.last_error_at
                else None
            ),
        )

    async def _run_child(self, slot: _Slot, generation: int, child: Child, ready: Ready) -> None:
        exc: BaseException | None = None
        try:
            await child.run(ready)
        except asyncio.CancelledError:
            if not slot.killing:
                raise
            exc = slot.kill_error
        except Exception as e:
            exc = e
        slot.exit_error = exc
        self._events.put_nowait((slot, generation, exc))

    async def _start_slot(self, slot: _Slot) -> bool:
        """Start one child and wait until it is ready; False if it exited or timed out first."""
        slot.generation += 1
        generation = slot.generation
        slot.killing, slot.kill_error, slot.exit_error = False, None, None
        slot.state = "starting"
        try:
            child = slot.spec.start()
        except Exception as exc:
            self._record_error(slot, exc)
            slot.state = "failed"
            self._events.put_nowait((slot, generation, exc))
            return False
        slot.child = child
        is_ready = asyncio.Event()
        slot.task = asyncio.create_task(
            self._run_child(slot, generation, child, is_ready.set),
            name=f"{self.name}/{slot.spec.name}",
        )
        waiters = {
            asyncio.create_task(is_ready.wait()),
            asyncio.create_task(self._stop.wait()),
        }
        try:
            await asyncio.wait(
                {slot.task, *waiters},
                timeout=slot.spec.start_timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for w in waiters:
                w.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
        if is_ready.is_set():
            slot.state = "running"
            return True
        if slot.task.done():
            if slot.exit_error is not None:
                self._record_error(slot, slot.exit_error)
            slot.state = "failed"
            return False
        if self._stop.is_set():
            return False
        err = StartFailed(
            f"child {slot.spec.name!r} was not ready within {slot.spec.start_timeout_s:g}s"
        )
        self._record_error(slot, err)
        await self._kill(slot, err)
        slot.state = "failed"
        return False

    def _record_error(self, slot: _Slot, exc: BaseException) -> None:
        slot.last_error = f"{type(exc).__name__}: {exc}"
        slot.last_error_at = time.time()

    async def _on_child_exit(self, slot: _Slot, exc: BaseException | None) -> None:
        slot.task = None
        if exc is not None:
            self._record_error(slot, exc)
            log.warning("%s/%s exited: %s", self.name, slot.spec.name, slot.last_error)
        restart = slot.spec.restart is Restart.PERMANENT or (
            slot.spec.restart is Restart.TRANSIENT and exc is not None and not _gave_up(exc)
        )
        if not restart:
            slot.state = "stopped" if exc is None else "failed"
            return
        affected = self._affected(slot)
        for other in reversed(affected):
            if other is not slot:
                await self._stop_slot(other)
        for s in affected:
            s.state = "restarting"
        if not await self._admit_restart(slot):
            return  # asked to stop while backing off
        for s in affected:
            if self._stop.is_set():
                return
            self._count_restart(s)
            await self._start_until_ready(s)

    async def _start_until_ready(self, slot: _Slot) -> bool:
        """Start a child; if it fails before it is ready, restart it (counted towards the
        intensity, after the backoff) until it is, so the next child waits for it — on the
        first start and on every restart alike.

        False when a temporary child failed (it is not restarted) or a stop was requested.
        """
        while not await self._start_slot(slot):
            if self._stop.is_set() or slot.spec.restart is Restart.TEMPORARY:
                return False
            if not await self._admit_restart(slot):
                return False
            self._count_restart(slot)
        return True

    def _count_restart(self, slot: _Slot) -> None:
        slot.restarts += 1
        self.restarts_total += 1
        count_restart(self.name, slot.spec.name, self.spec.broker or _broker_of(slot))

    async def _admit_restart(self, slot: _Slot) -> bool:
        """Count a restart (giving up past the intensity), then back off.

        Returns False when a stop was requested during the backoff.
        """
        now = self._clock()
        self._restart_times.append(now)
        while self._restart_times and self._restart_times[0] <= now - self.spec.period_s:
            self._restart_times.popleft()
        if len(self._restart_times) > self.spec.max_restarts:
            await self._give_up(slot)
        while slot.recent and slot.recent[0] <= now - self.spec.period_s:
            slot.recent.popleft()
        delay = self.spec.backoff.delay(len(slot.recent), self._rng)
        slot.recent.append(now)
        slot.state = "restarting"
        try:
            async with asyncio.timeout(delay):
                await self._stop.wait()
            return False
        except TimeoutError:
            return True

    async def _give_up(self, slot: _Slot) -> None:
        error = slot.last_error or "normal exit of a permanent child"
        self.gave_up = SupervisorGaveUp(
            self.name, len(self._restart_times), self.spec.period_s, error
        )
        log.error("%s", self.gave_up)
        if self.spec.on_give_up is not None:
            try:
                async with asyncio.timeout(5):
                    await self.spec.on_give_up(str(self.gave_up))
            except Exception:
                log.exception("%s: on_give_up hook failed", self.name)
        raise self.gave_up

    async def _stop_slot(self, slot: _Slot) -> None:
        task = slot.task
        slot.generation += 1  # its exit is now expected, not a failure
        if task is None or task.done():
            slot.task = None
            if slot.state not in ("failed",):
                slot.state = "stopped"
            return
        slot.state = "stopping"
        if slot.child is not None:
            slot.child.request_stop()
        done, _ = await asyncio.wait({task}, timeout=slot.spec.shutdown_s)
        if not done:
            log.warning(
                "%s/%s did not stop within %.1fs; cancelling",
                self.name,
                slot.spec.name,
                slot.spec.shutdown_s,
            )
            await self._kill(slot, None)
        slot.task = None
        slot.state = "stopped"

    async def _kill(self, slot: _Slot, error: BaseException | None) -> None:
        task = slot.task
        if task is None or task.done():
            return
        slot.killing, slot.kill_error = True, error
        task.cancel()
        await asyncio.wait({task}, timeout=5)

    async def _stop_all(self) -> None:
        for slot in reversed(self._slots):
            await self._stop_slot(slot)

    async def _kill_all(self) -> None:
        for slot in reversed(self._slots):
            slot.generation += 1
            await self._kill(slot, None)
            slot.task = None
            slot.state = "stopped"
