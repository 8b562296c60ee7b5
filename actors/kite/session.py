"""Kite Connect credentials of one running app: what the feed and execution connect with.

`KiteSession` is what every zerodha piece takes (the ticker feed, the execution venue,
reconciliation): the API key, the day's access token and the two roots (`KITE_ROOT`,
`KITE_WS_ROOT`; the simulator's when they point at `alpha-panda sim kite`). Secrets are
`SecretStr` and never printed: `repr` shows only the key's first characters.

`load_session(settings)` reads them from the settings: `KITE_ACCESS_TOKEN` first, else the
session `alpha-panda zerodha login` stored under the data directory (`session_store`). It
fails with a `ConfigError` that names the missing variable, or the login command when the
stored session has expired (06:00 IST), so `alpha-panda up` with the zerodha broker enabled
stops at once instead of trading blind.

`exchange_request_token` is the second half of the daily login: the request token Kite
redirected with is exchanged (checksum over key, token and secret, done by the official
client) for the access token, which is stored owner-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import SecretStr

from actors.kite.session_store import (
    IST,
    StoredSession,
    expiry_after,
    read_session,
    save_session,
    session_path,
)
from schemas.errors import ConfigError

if TYPE_CHECKING:
    from kiteconnect import KiteConnect

    from ops.settings import Settings

__all__ = [
    "KiteSession",
    "KiteSessionError",
    "load_session",
    "kite_client",
    "exchange_request_token",
    "LOGIN_HINT",
]

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
    #: who logged in and when the token lapses; None for a KITE_ACCESS_TOKEN from the env
    user_id: str | None = None
    expires_at: datetime | None = None
    #: where the token came from: "KITE_ACCESS_TOKEN" or the session file's path
    source: str = "KITE_ACCESS_TOKEN"

    def __repr__(self) -> str:
        return f"KiteSession(api_key={self.api_key[:4]}…, root={self.root!r})"

    __str__ = __repr__


def _api_key(settings: Settings) -> str:
    if settings.kite_api_key is None or not settings.kite_api_key.get_secret_value():
        raise KiteSessionError(
            "the zerodha broker needs KITE_API_KEY: export your Kite Connect app's key "
            "(or run `alpha-panda sim kite` and eval its export lines)"
        )
    return settings.kite_api_key.get_secret_value()


def load_session(settings: Settings, *, now: datetime | None = None) -> KiteSession:
    """The zerodha session from the settings, or a `KiteSessionError` naming what is missing.

    `KITE_ACCESS_TOKEN` wins (its expiry is not known here; Kite's `TokenException` tells);
    else the stored login, refused once past its 06:00 IST expiry."""
    api_key = _api_key(settings)
    root, ws_root = settings.kite_root.rstrip("/"), settings.kite_ws_root.rstrip("/")
    token = settings.kite_access_token
    if token is not None and token.get_secret_value():
        return KiteSession(api_key, token, root, ws_root, settings.kite_api_secret)
    stored = read_session(settings.data_dir)  # SessionFileError (a ConfigError) if unusable
    if stored is None:
        raise KiteSessionError(f"the zerodha broker needs a Kite access token: {LOGIN_HINT}")
    if stored.api_key != api_key:
        raise KiteSessionError(
            f"the stored Kite session ({session_path(settings.data_dir)}) was issued to another "
            f"API key than KITE_API_KEY: {LOGIN_HINT}"
        )
    when = now or datetime.now(UTC)
    if stored.expired(when):
        lapsed = stored.expires_at.astimezone(IST).strftime("%H:%M IST on %Y-%m-%d")
        raise KiteSessionError(
            f"the Kite session of {stored.user_id} expired at {lapsed}: {LOGIN_HINT}"
        )
    return KiteSession(
        api_key, stored.access_token, root, ws_root, settings.kite_api_secret,
        user_id=stored.user_id, expires_at=stored.expires_at,
        source=str(session_path(settings.data_dir)),
    )  # fmt: skip


def exchange_request_token(
    settings: Settings, request_token: str, *, now: datetime | None = None, timeout_s: float = 7.0
) -> StoredSession:
    """Exchange the login's request token for the day's access token and store it.

    Kite errors (a used or wrong request token, a wrong secret) come back as a
    `KiteSessionError` with Kite's message, never the token or the secret."""
    from kiteconnect import KiteConnect
    from kiteconnect import exceptions as kex

    api_key = _api_key(settings)
    secret = settings.kite_api_secret
    if secret is None or not secret.get_secret_value():
        raise KiteSessionError(
            "the login needs KITE_API_SECRET: export your Kite Connect app's secret "
            "(or eval the export lines of `alpha-panda sim kite`)"
        )
    kite = KiteConnect(api_key=api_key, root=settings.kite_root.rstrip("/"), timeout=timeout_s)
    try:
        answer = kite.generate_session(request_token, api_secret=secret.get_secret_value())
    except kex.KiteException as exc:
        raise KiteSessionError(
            f"Kite refused the login ({type(exc).__name__}: {exc}); request tokens are single "
            "use and short-lived: open the login URL again and take the new one"
        ) from None
    except OSError as exc:  # requests' connection errors are OSErrors
        raise KiteSessionError(
            f"cannot reach Kite at {settings.kite_root} ({type(exc).__name__}); check KITE_ROOT "
            "and the network, then run the login again"
        ) from None
    login = now or datetime.now(UTC)
    stored = StoredSession(
        api_key=api_key,
        user_id=str(answer.get("user_id", "")),
        access_token=SecretStr(str(answer["access_token"])),
        login_time=login.astimezone(IST),
        expires_at=expiry_after(login),
    )
    save_session(settings.data_dir, stored)
    return stored


def kite_client(session: KiteSession, *, timeout_s: float = 7.0) -> KiteConnect:
    """The official client pointed at the session's root, its token set."""
    from kiteconnect import KiteConnect

    kite = KiteConnect(api_key=session.api_key, root=session.root, timeout=timeout_s)
    kite.set_access_token(session.access_token.get_secret_value())
    return kite
