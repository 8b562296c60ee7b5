"""The bridge's child spec for the supervision tree (what `alpha-panda up` adds)."""

from __future__ import annotations

from bridge.mirror.config import BridgeConfig, BridgeSettings
from bridge.mirror.process import BridgeProcess
from supervisors.bus import Bus
from supervisors.child import ChildSpec, Restart

__all__ = ["bridge_child_spec"]


def bridge_child_spec(bus: Bus, settings: BridgeSettings) -> ChildSpec | None:
    """The bridge as a permanent child, or None when KAFKA_BOOTSTRAP_SERVERS is unset.

    Put it first among the root's children: started first and stopped last, it catches up
    on a graceful stop with everything the actors stored before they stopped. Its shutdown
    time covers the catch-up and the drain (`drain_timeout_s` each) with room to spare.

    Transient: restarted after a crash, not after it stopped on an error retrying cannot fix
    (`retriable` False, e.g. a topic setting the cluster refuses). The error names the fix;
    the rest of the tree keeps trading, and the bridge's consumers keep every message it did
    not mirror until it is started again.
    """
    if not settings.kafka_bootstrap_servers:
        return None
    config = BridgeConfig.from_settings(settings)  # read once, at tree build time
    return ChildSpec(
        name="bridge",
        start=lambda: BridgeProcess(bus, config),
        restart=Restart.TRANSIENT,
        shutdown_s=config.drain_timeout_s * 2 + 5,
    )
