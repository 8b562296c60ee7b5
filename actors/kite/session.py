"""Kite Connect credentials of one running app: what the feed and execution connect with.

`KiteSession` is what every zerodha piece takes (the ticker feed, the execution venue,
reconciliation): the API key, the day's access token and the two roots (`KITE_ROOT`,
`KITE_WS_ROOT`; the simulator's when they point at `alpha-panda sim kite`). Secrets are
`SecretStr` and never printed: `repr` shows only the key's first characters.

`load_session(settings)` reads them from the settings; it fails with a `ConfigError` that
names the missing variable and the command that fixes it, so `alpha-panda up` with the
zerodha broker enabled stops at once instead of trading blind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import SecretStr

from schemas.errors import ConfigError

if TYPE_CHECKING:
    from kiteconnect import KiteConnect

    from ops.settings import Settings

__all__ = ["KiteSession", "KiteSessionError", "load_session", "kite_client"]

LOGIN_HINT = "run `alpha-panda zerodha login` (or export KITE_ACCESS_TOKEN)"


class KiteSessionError(ConfigError):
    """Credentials missing or unusable: the message names the variable and the fix."""


@dataclass(frozen=True, slots=True)
class KiteSession:
    api_key: str
    access_token: SecretStr
    root: str
    ws_root: str
    api_secret: SecretStr | None = None

    def __repr__(self) -> str:
        return f"KiteSession(api_key={self.api_key[:4]}…, root={self.root!r})"

    __str__ = __repr__


def load_session(settings: Settings) -> KiteSession:
    """The zerodha session from the settings, or a `KiteSessionError` naming what is missing."""
    if settings.kite_api_key is None or not settings.kite_api_key.get_secret_value():
        raise KiteSessionError(
            "the zerodha broker needs KITE_API_KEY: export your Kite Connect app's key "
            "(or run `alpha-panda sim kite` and eval its export lines)"
        )
    if settings.kite_access_token is None or not settings.kite_access_token.get_secret_value():
        raise KiteSessionError(f"the zerodha broker needs a Kite access token: {LOGIN_HINT}")
    return KiteSession(
        api_key=settings.kite_api_key.get_secret_value(),
        access_token=settings.kite_access_token,
        root=settings.kite_root.rstrip("/"),
        ws_root=settings.kite_ws_root.rstrip("/"),
        api_secret=settings.kite_api_secret,
    )


def kite_client(session: KiteSession, *, timeout_s: float = 7.0) -> KiteConnect:
    """The official client pointed at the session's root, its token set."""
    from kiteconnect import KiteConnect

    kite = KiteConnect(api_key=session.api_key, root=session.root, timeout=timeout_s)
    kite.set_access_token(session.access_token.get_secret_value())
    return kite
