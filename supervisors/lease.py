"""A lease in a JetStream KV bucket: at most one process holds a key at a time.

The bucket's `max_age` is the TTL: the server drops a record TTL after it stored it, by its
own clock, so a holder that died stops holding without anyone's help. Taking and renewing
are compare-and-set on the revision (`create` when absent, `update(last=revision)`), so two
contenders can never both succeed.

Safety rests on one inequality. A renewal that succeeds was sent at local (monotonic) time
`t` and stored by the server no earlier, so it lapses no earlier than `t + TTL`. The holder
counts its lease valid only until `deadline = t + TTL - margin` (margin TTL/3): it must have
stopped its work by then, which leaves `margin` for the stop before anyone can take over.
No wall clocks are compared across hosts.

One shortcut: a record left by a process on this host, in this pid namespace and boot,
whose pid is gone, is taken at once rather than after the TTL (a restart after SIGKILL).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from schemas.ids import generate_event_id

__all__ = ["Lease", "LeaseRecord", "open_lease_bucket", "process_owner_id"]

log = logging.getLogger(__name__)

#: share of the TTL by which the holder's deadline precedes the record's expiry
MARGIN = 1 / 3


def process_owner_id() -> str:
    """`host:pid:ulid`: unique even when a pid is reused."""
    return f"{socket.gethostname()}:{os.getpid()}:{generate_event_id()}"


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


class LeaseRecord(msgspec.Struct, frozen=True, kw_only=True):
    """The value of a lease key: who holds it and since when (wall clock, for people)."""

    owner: str
    host: str
    pid: int
    pid_ns: str = ""
    boot_id: str = ""
    ttl_s: float
    acquired_at: float
    renewed_at: float


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(LeaseRecord)


async def open_lease_bucket(
    js: JetStreamContext, bucket: str, ttl_s: float, *, replicas: int = 1
) -> tuple[KeyValue, float]:
    """The bucket, created with `ttl_s` as its max age if absent; returns it and its TTL.

    An existing bucket's TTL wins over `ttl_s`: it is what the server enforces, and
    changing it under running holders would let a record lapse before their deadlines.
    """
    try:
        kv = await js.key_value(bucket)
    except BucketNotFoundError:
        kv = await js.create_key_value(
            js_api.KeyValueConfig(
                bucket=bucket, history=1, ttl=ttl_s, replicas=replicas,
                description="alpha-panda leases (one owner per broker)",
            )
        )  # fmt: skip
        return kv, ttl_s
    status = await kv.status()
    actual = float(status.ttl or 0)
    if actual <= 0:
        raise ValueError(
            f"KV bucket {bucket!r} has no TTL, so a dead holder's lease would never lapse; "
            f"delete it (`nats kv del {bucket}`) while no alpha-panda process runs"
        )
    if abs(actual - ttl_s) > 1e-6:
        log.warning(
            "lease bucket %s has a TTL of %gs; the configured %gs does not apply "
            "(delete the bucket while nothing runs to change it)", bucket, actual, ttl_s,
        )  # fmt: skip
    return kv, actual


class Lease:
    """One key of the lease bucket, from this process's side.

    `held()` is the guard the leased work checks: True only before the deadline of the
    last successful take or renewal. `renew()` returning False (or failing until the
    deadline) means the lease is lost.
    """

    def __init__(
        self,
        key: str,
        owner: str,
        ttl_s: float,
        *,
        bucket: str,
        replicas: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.key = key
        self.owner = owner
        self.ttl_s = ttl_s
        self.bucket = bucket
        self.replicas = replicas
        self.kv: KeyValue | None = None
        self.revision: int | None = None
        self.deadline = 0.0
        self.holder: LeaseRecord | None = None  # as last seen in the bucket
        self._clock = clock
        self._acquired_at = 0.0
        self._last_value = b""

    async def open(self, js: JetStreamContext) -> KeyValue:
        """The bucket (created on first use); the lease's TTL becomes the bucket's."""
        if self.kv is None:
            self.kv, self.ttl_s = await open_lease_bucket(
                js, self.bucket, self.ttl_s, replicas=self.replicas
            )
        return self.kv

    @property
    def _kv(self) -> KeyValue:
        if self.kv is None:
            raise RuntimeError(f"lease {self.key}: open() the bucket first")
        return self.kv

    @property
    def margin_s(self) -> float:
        return self.ttl_s * MARGIN

    @property
    def renew_every_s(self) -> float:
        return self.ttl_s / 3

    def held(self) -> bool:
        return self.revision is not None and self._clock() < self.deadline

    def _record(self) -> bytes:
        now = time.time()
        host, pid, _ = self.owner.rsplit(":", 2)
        return _encoder.encode(
            LeaseRecord(
                owner=self.owner, host=host, pid=int(pid), pid_ns=_pid_namespace(),
                boot_id=_boot_id(), ttl_s=self.ttl_s, acquired_at=self._acquired_at or now,
                renewed_at=now,
            )
        )  # fmt: skip

    def _took(self, revision: int, sent_at: float) -> None:
        self.revision = revision
        self.deadline = sent_at + self.ttl_s - self.margin_s
        self.holder = _decoder.decode(self._last_value)

    async def try_acquire(self) -> bool:
        """Take the lease if nobody holds it (or its holder is gone); never waits for it."""
        sent_at = self._clock()
        try:
            entry = await self._kv.get(self.key)
        except KeyNotFoundError:  # absent, expired, or released (a delete marker)
            entry = None
        self._acquired_at = time.time()
        self._last_value = self._record()
        if entry is None or not entry.value:
            try:
                revision = await self._kv.create(self.key, self._last_value)
            except KeyWrongLastSequenceError:  # somebody was quicker
                await self._read_holder()
                return False
            self._took(revision, sent_at)
            return True
        try:
            current = _decoder.decode(entry.value)
        except msgspec.DecodeError:
            current = None
        self.holder = current
        if current is not None and not self._holder_gone(current):
            return False
        try:
            revision = await self._kv.update(self.key, self._last_value, last=entry.revision)
        except KeyWrongLastSequenceError:
            await self._read_holder()
            return False
        log.info("lease %s taken over from %s", self.key, current.owner if current else "?")
        self._took(revision, sent_at)
        return True

    async def renew(self) -> bool:
        """Extend the lease; False if it is no longer ours (taken, or lapsed on the server).

        Transport errors propagate: the caller retries until its deadline.
        """
        for _ in range(2):
            if self.revision is None:
                return False
            sent_at = self._clock()
            self._last_value = self._record()
            try:
                revision = await self._kv.update(self.key, self._last_value, last=self.revision)
            except KeyWrongLastSequenceError:
                # Ours still, at a later revision: an earlier renewal timed out on the way
                # back but was stored. Compare-and-set on that one (the deadline stays put).
                self.revision = await self._read_holder()
                continue
            self._took(revision, sent_at)
            return True
        return False

    async def release(self) -> None:
        """Give the lease up at once (a clean stop), if it is still ours."""
        revision, self.revision = self.revision, None
        if revision is None:
            return
        try:
            await self._kv.delete(self.key, last=revision)
        except Exception as exc:  # no longer ours, or NATS is gone: it lapses by itself
            log.info("lease %s not released (%s); it lapses within %gs", self.key, exc, self.ttl_s)

    def forget(self) -> None:
        """Stop counting the lease as held (after losing it)."""
        self.revision = None

    async def _read_holder(self) -> int | None:
        """Read who holds the key now; its revision if that is us."""
        try:
            entry = await self._kv.get(self.key)
            self.holder = _decoder.decode(entry.value) if entry.value else None
        except (KeyNotFoundError, msgspec.DecodeError):
            self.holder = None
            return None
        if self.holder is not None and self.holder.owner == self.owner:
            return entry.revision
        return None

    def _holder_gone(self, record: LeaseRecord) -> bool:
        """A holder on this host whose process no longer exists holds nothing."""
        if record.owner == self.owner:
            return True  # ours, from before a restart of the holding child
        if (
            record.host != socket.gethostname()
            or not record.pid_ns
            or record.pid_ns != _pid_namespace()
            or record.boot_id != _boot_id()
        ):
            return False
        if record.pid == os.getpid():
            return True  # a process of our pid, before us: it is gone
        try:
            os.kill(record.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, someone else's
            return False
        return False
