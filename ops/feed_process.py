"""The market feed in a process of its own, supervised by the process that started it.

`alpha-panda up` with `ALPHA_PANDA_FEED_PROCESS=1` (or `up --feed-process`), and `alpha-panda
bench pipeline --feed-process`, put this child in the tree where the feed actor would be:
the tick source then has a core of its own instead of sharing the event loop with every
consumer of its ticks.

- The parent starts `python -m ops.feed_process` and writes one JSON line on its stdin: the
  server, the data directory, the feed configuration and the instruments. The child
  connects as the `feed` user (`client_auth`: the settings' own credentials, or the
  embedded server's `feed` user from the data directory), so its permissions are the feed
  role's alone.
- The child runs the feed under its own supervisor and writes its status tree as a JSON
  line on stdout twice a second; the parent shows that tree under its `feed-process` node,
  so `alpha-panda status`, the web tree and the console summary see the feed's figures as
  if it ran in-process.
- Stop: the parent sends SIGTERM and the child stops gracefully; a parent that dies closes
  the child's stdin, and the child stops on that too, so no feed outlives its `up`. A child
  that exits unasked fails its slot, and the parent's supervisor restarts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from actors.feed.actor import FeedConfig, MarketFeed
from actors.instruments import Instrument, InstrumentBook
from ops.settings import Settings
from supervisors.actor import Actor
from supervisors.bus import Bus
from supervisors.child import ChildSpec, Ready
from supervisors.errors import RuntimeFault
from supervisors.status import StatusNode
from supervisors.supervisor import Supervisor

__all__ = ["FeedProcess", "FeedProcessSpec", "feed_actor_maker", "feed_process_spec"]

log = logging.getLogger(__name__)

FEED_USER = "feed"
_STATUS_INTERVAL_S = 0.5


class FeedProcessSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What the child needs to run the feed: sent on its stdin (the URL may hold secrets)."""

    url: str
    data_dir: str
    feed: FeedConfig
    instruments: list[Instrument]
    tokens: list[int] = msgspec.field(default_factory=list)  # Kite's ticker: what to subscribe


class FeedProcessExited(RuntimeFault):
    """The feed's process ended without being asked to (its supervisor restarts it)."""

    retriable = True

    def __init__(self, code: int | None) -> None:
        super().__init__(f"the feed process exited with code {code}; see its log lines above")
        self.code = code


def feed_actor_maker(
    settings: Settings, feed: FeedConfig, book: InstrumentBook, tokens: Sequence[int]
) -> Callable[[], Actor]:
    """The mock/replay feed, or Kite's ticker subscribed to `tokens`."""
    if feed.mode != "kite":
        return lambda: MarketFeed(feed, book)
    from actors.kite.feed import KiteFeed
    from actors.kite.session import load_session

    session = load_session(settings)
    return lambda: KiteFeed(feed, book, session, list(tokens))


def feed_process_spec(
    bus: Bus, settings: Settings, feed: FeedConfig, book: InstrumentBook, tokens: Sequence[int]
) -> ChildSpec:
    """The tree's child that runs the feed in a process of its own, on `bus`'s server."""
    spec = FeedProcessSpec(
        url=bus.nc.connected_url.geturl() if bus.nc.connected_url else "",
        data_dir=str(settings.data_dir),
        feed=feed,
        instruments=list(book),
        tokens=list(tokens),
    )
    return ChildSpec(name="feed-process", start=lambda: FeedProcess(spec), shutdown_s=15.0)


class FeedProcess:
    """The parent's side: start, watch and stop the child (implements `Child`)."""

    def __init__(self, spec: FeedProcessSpec, *, name: str = "feed-process") -> None:
        self.name = name
        self.spec = spec
        self._proc: asyncio.subprocess.Process | None = None
        self._children: list[StatusNode] = []
        self._stopping = False
        self.exit_code: int | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def status(self) -> StatusNode:
        return StatusNode(
            name=self.name,
            kind="process",
            figures={"pid": self.pid, "exit_code": self.exit_code},
            children=list(self._children),
        )

    def request_stop(self) -> None:
        self._stopping = True
        if self._proc is not None and self._proc.returncode is None:
            self._proc.send_signal(signal.SIGTERM)

    async def run(self, ready: Ready) -> None:
        proc = self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ops.feed_process",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdin is not None
        assert proc.stdout is not None
        log.info("feed process started (pid %d)", proc.pid)
        try:
            proc.stdin.write(msgspec.json.encode(self.spec) + b"\n")
            await proc.stdin.drain()  # stdin stays open: its end tells the child we are gone
            is_ready = False
            async for line in proc.stdout:
                report = _decode_report(line)
                if report is None:
                    continue
                self._children = [StatusNode.from_builtins(c) for c in report.children]
                if report.ready and not is_ready:
                    is_ready = True
                    ready()
            self.exit_code = await proc.wait()
        except BaseException:
            await asyncio.shield(_end(proc))
            raise
        if self._stopping and self.exit_code in (0, -signal.SIGTERM):
            log.info("feed process stopped")
            return
        raise FeedProcessExited(self.exit_code)


class _Report(msgspec.Struct, frozen=True, kw_only=True):
    ready: bool = False
    children: list[dict[str, Any]] = msgspec.field(default_factory=list)


_report_decoder = msgspec.json.Decoder(_Report)


def _decode_report(line: bytes) -> _Report | None:
    try:
        return _report_decoder.decode(line)
    except msgspec.DecodeError:
        log.warning("feed process: unreadable status line %r", line[:200])
        return None


async def _end(proc: asyncio.subprocess.Process, grace_s: float = 5.0) -> None:
    """Stop the child however we got here: SIGTERM, then SIGKILL after `grace_s`."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        async with asyncio.timeout(grace_s):
            await proc.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


# --- the child's side --------------------------------------------------------------------


async def _serve(spec: FeedProcessSpec) -> int:
    from ops.nats_access import client_auth
    from ops.settings import load_settings
    from supervisors.runner import actor_spec
    from supervisors.supervisor import SupervisorSpec
    from supervisors.telemetry import tracing

    settings = load_settings(data_dir=Path(spec.data_dir))
    auth = client_auth(settings, spec.url, FEED_USER)
    traces = tracing.configure("alpha-panda:feed")
    bus = await Bus.connect(spec.url, name="alpha-panda:feed", auth=auth)
    try:
        maker = feed_actor_maker(settings, spec.feed, InstrumentBook(spec.instruments), spec.tokens)
        root = Supervisor(
            SupervisorSpec(name="market", children=[actor_spec(bus, maker, "market-feed")])
        )
        ready = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, root.request_stop)
        watchers = [
            asyncio.create_task(_report(root, ready), name="feed-process:report"),
            asyncio.create_task(_stop_when_orphaned(root), name="feed-process:parent"),
        ]
        try:
            await root.run(lambda: _ready(root, ready))
        except RuntimeFault as exc:
            log.error("the feed's supervisor gave up: %s", exc)
            return 1
        finally:
            for task in watchers:
                task.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
            _write(root, ready)  # the last figures
        return 0
    finally:
        await bus.close()
        traces.shutdown()


def _ready(root: Supervisor, ready: asyncio.Event) -> None:
    ready.set()
    _write(root, ready)  # now, not at the next report: the parent's tree waits for it


def _write(root: Supervisor, ready: asyncio.Event) -> None:
    children = [c.to_builtins() for c in root.status().children]
    line = msgspec.json.encode(_Report(ready=ready.is_set(), children=children))
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.buffer.write(line + b"\n")
        sys.stdout.buffer.flush()


async def _report(root: Supervisor, ready: asyncio.Event) -> None:
    while True:
        _write(root, ready)
        await asyncio.sleep(_STATUS_INTERVAL_S)


async def _stop_when_orphaned(root: Supervisor) -> None:
    """The parent holds our stdin open; its end (the parent died) stops the feed."""
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.read()
    log.warning("feed process: the supervising process is gone; stopping")
    root.request_stop()


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )
    try:
        spec = msgspec.json.decode(sys.stdin.buffer.readline(), type=FeedProcessSpec)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        print(
            f"alpha-panda feed process: a bad spec on stdin ({exc}); it is started by "
            "`alpha-panda up` with ALPHA_PANDA_FEED_PROCESS=1, not by hand",
            file=sys.stderr,
        )
        return 2
    from ops.commands.common import run_async

    return run_async(_serve(spec))


if __name__ == "__main__":
    sys.exit(main())
