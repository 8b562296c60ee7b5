"""`LeaseGate`: a supervisor that runs only while this process holds its lease.

A broker's stateful actors (risk, execution, portfolio) sit under one of these, so that
however many processes run them, one does the work and the others stand by:

- **Standby.** Without the lease the gate reports ready at once (the rest of the tree
  starts; a standby is a started node) and polls the bucket every TTL/3. Its status says
  `standby` and names the owner.
- **Owner.** When the first attempt succeeds, the gate starts its supervisor and reports
  ready only once that is ready, so the start order of the tree holds. It renews every
  TTL/3 and retries a failed renewal every TTL/12.
- **Loss.** A renewal refused (someone else holds the key), or none succeeding before the
  deadline (last success + TTL - TTL/3), stops the supervisor: gracefully until half the
  margin is left, then cancelled, so it is down before the record can lapse on the server.
  The actors' guard (`Lease.held`) refuses new work from the deadline on in any case.
  Then the gate is a standby again.
- **Stop.** A requested stop stops the supervisor while the lease is still renewed, then
  deletes the record, so a standby takes over at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import Any

from nats.js import JetStreamContext

from supervisors.child import Ready
from supervisors.lease import Lease
from supervisors.status import SUPERVISOR, StatusNode
from supervisors.supervisor import RestartOutcome, Supervisor, SupervisorSpec, UnknownChild

__all__ = ["LeaseGate"]

log = logging.getLogger(__name__)

_LOST_TAKEN = "taken by another process"
_LOST_EXPIRED = "not renewed before its deadline"


class LeaseGate:
    """Implements `Child`; runs `spec` as a nested supervisor while `lease` is held."""

    def __init__(self, spec: SupervisorSpec, lease: Lease, js: JetStreamContext) -> None:
        self.spec = spec
        self.name = spec.name
        self.lease = lease
        self.state = "idle"
        self._js = js
        self._sup: Supervisor | None = None
        # the subtree's last status when it stopped (its actors' final figures)
        self._final: list[StatusNode] | None = None
        self._restarts_before = 0
        self._stop = asyncio.Event()

    # --- Child protocol ----------------------------------------------------------------------

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self, ready: Ready) -> None:
        self.state = "starting"
        announced = False

        def announce() -> None:
            nonlocal announced
            if not announced:
                announced = True
                ready()

        try:
            await self.lease.open(self._js)
            while not self._stop.is_set():
                if await self._try_acquire() and not await self._own(announce):
                    break  # stopped on request
                self.state = "standby"
                announce()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.lease.renew_every_s):
                        await self._stop.wait()
        finally:
            try:
                async with asyncio.timeout(2):
                    await self.lease.release()
            except TimeoutError:
                pass
            self.state = "stopped"

    def status(self) -> StatusNode:
        holder = self.lease.holder
        sup = self._sup
        if sup is not None:
            children = sup.status().children
        elif self.state == "stopped" and self._final is not None:
            children = self._final  # what it held when it stopped: `up`'s final summary
        else:
            children = [
                StatusNode(name=c.name, kind=SUPERVISOR if c.is_supervisor else "actor",
                           broker=self.spec.broker,
                           state="standby" if self.state == "standby" else "stopped")
                for c in self.spec.children
            ]  # fmt: skip
        owner = holder.owner if holder is not None else None
        renewed_at = datetime.fromtimestamp(holder.renewed_at, UTC).isoformat() if holder else None
        return StatusNode(
            name=self.name,
            kind=SUPERVISOR,
            strategy=str(self.spec.strategy),
            state=self.state,
            broker=self.spec.broker,
            restarts=self._restarts_before + (sup.restarts_total if sup else 0),
            max_restarts=self.spec.max_restarts,
            period_s=self.spec.period_s,
            children=children,
            figures={
                "owner": owner,
                "lease": {"bucket": self.lease.bucket, "key": self.lease.key,
                          "held": self.lease.held(), "owner": owner,
                          "ttl_s": self.lease.ttl_s, "renewed_at": renewed_at},
            },
        )  # fmt: skip

    # --- operator control ---------------------------------------------------------------------

    def child_names(self) -> list[str]:
        """The names below this gate (as a standby: those it would run as the owner)."""
        sup = self._sup
        if sup is not None:
            return sup.child_names()
        return [c.name for c in self.spec.children]

    async def restart_child(self, name: str) -> RestartOutcome:
        """Restart `name` in the owner's subtree; a standby refuses, for a restart must
        never start leased actors in a process without the lease."""
        sup = self._sup
        if sup is None or self.state != "running":
            if name not in self.child_names():
                raise UnknownChild(name, self.child_names())
            holder = self.lease.holder
            owner = holder.owner if holder is not None else "nobody yet"
            return RestartOutcome(
                name,
                False,
                f"{self.name} is {self.state}: this process does not hold lease "
                f"{self.lease.key} (owner: {owner}); restart it where the lease is held",
            )
        return await sup.restart_child(name)

    # --- internals ---------------------------------------------------------------------------

    async def _try_acquire(self) -> bool:
        try:
            async with asyncio.timeout(self.lease.renew_every_s + 1):
                return await self.lease.try_acquire()
        except Exception as exc:  # NATS unreachable for now: stay a standby, try again
            log.warning("%s: cannot reach lease %s: %s: %s", self.name, self.lease.key,
                        type(exc).__name__, exc)  # fmt: skip
            return False

    async def _own(self, announce: Ready) -> bool:
        """Run the supervisor while the lease holds; True when the lease was lost."""
        log.info("%s: holding lease %s as %s", self.name, self.lease.key, self.lease.owner)
        sup = Supervisor(self.spec)
        self._sup = sup
        self._final = None
        self.state = "starting"
        up = asyncio.Event()
        run = asyncio.create_task(sup.run(up.set), name=f"{self.name}:supervisor")
        keeper = asyncio.create_task(self._keep(), name=f"{self.name}:renew")
        stop = asyncio.create_task(self._stop.wait(), name=f"{self.name}:stop")
        is_up = asyncio.create_task(up.wait(), name=f"{self.name}:ready")
        waiting: set[asyncio.Task[Any]] = {run, keeper, stop, is_up}
        try:
            while True:
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if is_up in done:
                    waiting.discard(is_up)
                    self.state = "running"
                    announce()
                    if len(done) == 1:
                        continue
                break
            if run.done():
                run.result()  # the supervisor gave up: escalate (the lease is released)
                return False
            if stop.done():
                self.state = "stopping"
                sup.request_stop()
                await asyncio.wait({run, keeper}, return_when=asyncio.FIRST_COMPLETED)
                if not run.done():
                    await self._cut(sup, run, keeper.result())
                return False
            await self._cut(sup, run, keeper.result())
            return True
        finally:
            for task in (keeper, stop, is_up):
                task.cancel()
            if not run.done():  # we were cancelled: the leased actors must not outlive us
                run.cancel()
            await asyncio.gather(keeper, stop, is_up, run, return_exceptions=True)
            self._restarts_before += sup.restarts_total
            self._final = sup.status().children
            self._sup = None

    async def _keep(self) -> str:
        """Renew until the lease is lost; returns why."""
        lease = self.lease
        retry_s = lease.ttl_s / 12
        failed = False
        while True:
            last_ok = lease.deadline - (lease.ttl_s - lease.margin_s)
            now = time.monotonic()
            next_at = now + retry_s if failed else last_ok + lease.renew_every_s
            await asyncio.sleep(max(0.0, min(next_at, lease.deadline) - now))
            if time.monotonic() >= lease.deadline:
                lease.forget()
                return _LOST_EXPIRED
            try:
                async with asyncio.timeout(lease.deadline - time.monotonic()):
                    renewed = await lease.renew()
            except Exception as exc:  # includes our timeout: the loop checks the deadline
                log.warning("%s: renewing lease %s failed: %s: %s", self.name, lease.key,
                            type(exc).__name__, exc)  # fmt: skip
                failed = True
                continue
            if not renewed:
                return _LOST_TAKEN
            failed = False

    async def _cut(self, sup: Supervisor, run: asyncio.Task[None], why: str) -> None:
        """Stop the supervisor before the lease can lapse: graceful first, then cancelled."""
        lease = self.lease
        log.error("%s: lease %s lost (%s); stopping %s", self.name, lease.key, why,
                  ", ".join(c.name for c in self.spec.children))  # fmt: skip
        self.state = "stopping"
        sup.request_stop()
        hard_stop = lease.deadline + lease.margin_s / 2  # half the margin is left after it
        grace = 0.0 if why == _LOST_TAKEN else hard_stop - time.monotonic()
        if grace > 0:
            await asyncio.wait({run}, timeout=grace)
        if not run.done():
            run.cancel()
        await asyncio.gather(run, return_exceptions=True)
        lease.forget()
