"""`StatusNode`: one node of the live supervision tree that `alpha.status` answers with.

A supervisor builds its subtree from typed nodes; a leaf child (an actor's runner, the
bridge) contributes its own figures as a JSON-ready mapping, which the supervisor cannot
know the shape of (the launcher never imports the domain). On the wire a node is one
JSON object with those figures inline, as `alpha-panda status --json` always printed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import msgspec

__all__ = ["StatusNode", "SUPERVISOR"]

SUPERVISOR: Final = "supervisor"


class StatusNode(msgspec.Struct, frozen=True, kw_only=True):
    """A supervisor or a supervised child, as its parent sees it."""

    name: str
    kind: str = "actor"
    state: str = "idle"
    broker: str | None = None
    restarts: int = 0
    # How the parent supervises this node: None on the root.
    restart: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    # A supervisor's own settings and children.
    strategy: str | None = None
    max_restarts: int | None = None
    period_s: float | None = None
    children: list[StatusNode] = msgspec.field(default_factory=list)
    # A leaf child's own figures (mailbox, counters, per-actor `stats()`), inline on the wire.
    figures: dict[str, Any] = msgspec.field(default_factory=dict)

    @property
    def is_supervisor(self) -> bool:
        return self.kind == SUPERVISOR

    def to_builtins(self) -> dict[str, Any]:
        """The JSON object of this node and its subtree (figures inline)."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "broker": self.broker}
        out.update(self.figures)
        if self.is_supervisor:
            out.update(strategy=self.strategy, max_restarts=self.max_restarts,
                       period_s=self.period_s)  # fmt: skip
        out.update(state=self.state, restarts=self.restarts)
        if self.restart is not None:
            out.update(restart=self.restart, last_error=self.last_error,
                       last_error_at=self.last_error_at)  # fmt: skip
        if self.is_supervisor or self.children:  # a child process's tree (ops.feed_process)
            out["children"] = [child.to_builtins() for child in self.children]
        return out

    @classmethod
    def from_builtins(cls, data: Mapping[str, Any]) -> StatusNode:
        """Read back what `to_builtins` wrote (a reply of `alpha.status`)."""
        own = {k: v for k, v in data.items() if k in _FIELDS}
        figures = {k: v for k, v in data.items() if k not in _FIELDS}
        children = [cls.from_builtins(c) for c in own.pop("children", ())]
        node = msgspec.convert(own, cls)
        return msgspec.structs.replace(node, children=children, figures=figures)


_FIELDS: Final = frozenset(StatusNode.__struct_fields__) - {"figures"}
