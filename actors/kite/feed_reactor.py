"""The one Twisted reactor of the process, in its own daemon thread, for every KiteTicker.

`KiteTicker` runs on Twisted's global reactor, which can be started once per process and
never restarted. So the reactor is started here once, on first use, and lives as long as the
process; every connection is made, reconnected and closed inside it via `call_in_reactor`,
and stopping a feed closes its connections, never the reactor. Other code in the process
that uses KiteTicker must schedule its work with `call_in_reactor` too (not
`connect(threaded=True)`, which would try to start a second reactor thread).

autobahn's debug log prints the opening handshake, whose URL carries the access token
(Kite takes it as a query parameter): its log level is capped at info here, and must stay so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["call_in_reactor", "reactor_thread"]

_lock = threading.Lock()
_thread: threading.Thread | None = None


def reactor_thread() -> threading.Thread | None:
    """The reactor's thread, started on first call; None if someone else already runs it."""
    global _thread
    import txaio
    from twisted.internet import reactor

    with _lock:
        if _thread is None and not reactor.running:
            if txaio.get_global_log_level() in ("debug", "trace"):  # type: ignore[attr-defined]
                txaio.set_global_log_level("info")  # type: ignore[attr-defined]
            # Signal handlers belong to the main thread (asyncio's); the reactor gets none.
            _thread = threading.Thread(
                target=reactor.run,  # type: ignore[misc]
                kwargs={"installSignalHandlers": False},
                name="kite-reactor",
                daemon=True,
            )
            _thread.start()
        return _thread


def call_in_reactor(fn: Callable[..., Any], *args: Any) -> None:
    """Run `fn(*args)` in the reactor thread (queued until the reactor runs)."""
    from twisted.internet import reactor

    reactor_thread()
    reactor.callFromThread(fn, *args)
