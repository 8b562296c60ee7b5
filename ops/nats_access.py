"""Which server a command talks to, and with which credentials.

- The embedded server: `up` generates one user per role, `app` (the union of the roles
  this process runs) and `operator`, keeps their passwords in `var/nats-users.json`
  (mode 0600) and gives the server a config holding only their bcrypt hashes.
- Every other command (status, halt, portfolio, ops bootstrap, bridge ...) finds the
  running embedded server through `var/nats.url` and connects as `operator` with the
  password from the same directory.
- An external server (NATS_URL): the credentials and TLS files the settings name.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from ops.settings import Settings
from schemas.errors import ConfigError
from schemas.permissions import OPERATOR, USERS, permission_table, process_user
from supervisors.bus import Bus
from supervisors.nats_auth import (
    EmbeddedAuth,
    NatsAuth,
    Secret,
    UserStore,
    authorization_block,
    check_private,
    redact_url,
    write_private,
)

__all__ = [
    "USERS_FILE",
    "SERVER_CONFIG",
    "prepare_embedded",
    "client_auth",
    "settings_auth",
    "tls_context",
    "resolve_nats_url",
    "running_embedded_url",
    "NatsTarget",
    "nats_target",
]

USERS_FILE = "nats-users.json"
SERVER_CONFIG = "nats-auth.conf"
URL_FILE = "nats.url"


def user_store(data_dir: Path) -> UserStore:
    return UserStore(Path(data_dir) / USERS_FILE)


def prepare_embedded(data_dir: Path, roles: tuple[str, ...]) -> EmbeddedAuth:
    """Credentials (made on first start) and the server config for a process of `roles`."""
    store = user_store(data_dir)
    table = permission_table(app_roles=roles)
    known = store.ensure(USERS)
    config = Path(data_dir) / SERVER_CONFIG
    write_private(config, authorization_block(table, {u: known[u].bcrypt_hash for u in table}))
    me = process_user(roles)
    return EmbeddedAuth(
        config_file=config,
        process=NatsAuth(user=me, password=known[me].password),
        admin=NatsAuth(user=OPERATOR, password=known[OPERATOR].password),
        users=len(table),
    )


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """TLS from NATS_TLS_CA / NATS_TLS_CERT / NATS_TLS_KEY; None when none is set."""
    ca, cert, key = settings.nats_tls_ca, settings.nats_tls_cert, settings.nats_tls_key
    if not (ca or cert or key):
        return None
    try:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca) if ca else None)
        if cert:
            ctx.load_cert_chain(str(cert), str(key) if key else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"NATS TLS files could not be loaded ({exc}); check NATS_TLS_CA, NATS_TLS_CERT "
            "and NATS_TLS_KEY name readable PEM files"
        ) from None
    return ctx


def settings_auth(settings: Settings) -> NatsAuth:
    """The credentials the settings name for an external server (empty: anonymous)."""
    seed = settings.nats_nkey_seed.get_secret_value() if settings.nats_nkey_seed else None
    if seed and Path(seed).is_file():
        check_private(Path(seed))
        seed = Path(seed).read_text().strip()
    if settings.nats_creds:
        check_private(settings.nats_creds)
    return NatsAuth(
        user=settings.nats_user,
        password=Secret(settings.nats_password.get_secret_value())
        if settings.nats_password
        else None,
        token=Secret(settings.nats_token.get_secret_value()) if settings.nats_token else None,
        creds_file=settings.nats_creds,
        nkey_seed=Secret(seed) if seed else None,
        tls=tls_context(settings),
    )


def running_embedded_url(settings: Settings) -> str | None:
    """The URL the embedded server of a running `up` in this data directory wrote."""
    url_file = Path(settings.data_dir) / URL_FILE
    if url_file.exists():
        return url_file.read_text().strip() or None
    return None


def resolve_nats_url(settings: Settings) -> str:
    """NATS_URL, else the URL the embedded server of a running `alpha-panda up` wrote."""
    if settings.nats_url:
        return settings.nats_url
    url = running_embedded_url(settings)
    if url:
        return url
    raise ConfigError(
        f"no NATS_URL set and no running embedded server found "
        f"({Path(settings.data_dir) / URL_FILE} is missing): "
        "start `alpha-panda up` in this directory or set NATS_URL"
    )


def client_auth(settings: Settings, url: str, user: str = OPERATOR) -> NatsAuth:
    """Credentials for a connection to `url`: the settings' own when they name any, else
    `user`'s from this directory when `url` is its running embedded server."""
    auth = settings_auth(settings)
    if not auth.anonymous:
        return auth
    if url == running_embedded_url(settings) and user_store(settings.data_dir).path.exists():
        return user_store(settings.data_dir).auth_for(user, tls=auth.tls)
    return auth


@dataclass(frozen=True)
class NatsTarget:
    """A server and how to authenticate to it: what every command connects with."""

    url: str
    auth: NatsAuth

    @property
    def shown(self) -> str:
        """The URL for messages: credentials inside it masked."""
        return redact_url(self.url)

    async def connect(self, name: str) -> Bus:
        return await Bus.connect(self.url, name=name, auth=self.auth)


def nats_target(settings: Settings, user: str = OPERATOR) -> NatsTarget:
    """The running system's server (NATS_URL or `var/nats.url`) with `user`'s credentials."""
    url = resolve_nats_url(settings)
    return NatsTarget(url, client_auth(settings, url, user))
