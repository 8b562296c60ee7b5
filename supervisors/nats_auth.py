"""Credentials on the bus: how a client authenticates, and the users a server accepts.

- `NatsAuth`: what one connection presents (user and password, a .creds file, an nkey
  seed or a token, and TLS); secrets are `Secret`s, masked in every repr.
- `UserStore`: the generated passwords of the embedded server's users, in one file
  readable by its owner only; the server's config holds their bcrypt hashes, never them.
- `authorization_block`: the nats-server `authorization { users = [...] }` text for a
  permission table, shared by the embedded server and `alpha-panda ops nats-config`.
"""

from __future__ import annotations

import json
import os
import secrets
import ssl
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt

from schemas.grants import Permissions, inbox_prefix
from supervisors.errors import CredentialsError

__all__ = [
    "Secret",
    "NatsAuth",
    "EmbeddedAuth",
    "UserStore",
    "UserSecret",
    "authorization_block",
    "check_private",
    "write_private",
    "BCRYPT_COST",
    "redact_url",
]

#: nats-server checks a bcrypt password at every connect; 11 costs ~0.1 s there
BCRYPT_COST = 11
_SECRET_BYTES = 24  # 192 bits, above the 128 asked of every credential


class Secret:
    """A string that never shows itself in a repr, a log line or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class NatsAuth:
    """What a connection presents to the server. Empty: an anonymous client."""

    user: str | None = None
    password: Secret | None = None
    token: Secret | None = None
    creds_file: Path | None = None
    nkey_seed: Secret | None = None
    tls: ssl.SSLContext | None = None

    @property
    def anonymous(self) -> bool:
        return not (self.user or self.token or self.creds_file or self.nkey_seed)

    def describe(self) -> str:
        """How this connection authenticates, without any secret (for logs and status)."""
        if self.creds_file:
            how = f"creds file {self.creds_file}"
        elif self.nkey_seed:
            how = "nkey"
        elif self.token:
            how = "token"
        elif self.user:
            how = f"user {self.user}"
        else:
            how = "anonymous"
        return how + (", tls" if self.tls else "")

    def connect_options(self) -> dict[str, Any]:
        """Keyword arguments for `nats.connect`."""
        opts: dict[str, Any] = {}
        if self.user:
            opts["user"] = self.user
            opts["password"] = self.password.reveal() if self.password else ""
            opts["inbox_prefix"] = inbox_prefix(self.user)
        if self.token:
            opts["token"] = self.token.reveal()
        if self.creds_file:
            opts["user_credentials"] = str(self.creds_file)
        if self.nkey_seed:
            opts["nkeys_seed_str"] = self.nkey_seed.reveal()
        if self.tls:
            opts["tls"] = self.tls
        return opts


@dataclass(frozen=True)
class EmbeddedAuth:
    """The embedded server with authorization on: its config (bcrypt hashes only), how
    this process connects, and the administrator that bootstraps streams at start."""

    config_file: Path
    process: NatsAuth
    admin: NatsAuth
    users: int

    def describe(self) -> str:
        return f"on, {self.users} users"


def redact_url(url: str) -> str:
    """A server URL (or a comma-separated list of them) fit for logs and status:
    credentials inside it are masked."""
    if "," in url:
        return ",".join(redact_url(one) for one in url.split(","))
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    userinfo, _, host = rest.partition("@")
    user = userinfo.split(":", 1)[0] if ":" in userinfo else ""
    return f"{scheme}://{user + ':' if user else ''}***@{host}"


def check_private(path: Path) -> None:
    """Refuse a secrets file that its group or others may read, naming the fix."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise CredentialsError(
            f"{path} holds NATS credentials but has mode {mode:o}: others may read it; "
            f"run `chmod 600 {path}` and start again"
        )


def write_private(path: Path, text: str) -> None:
    """Write a file that only its owner can read, created so from the start (no race)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


@dataclass(frozen=True)
class UserSecret:
    password: Secret
    bcrypt_hash: str


class UserStore:
    """The embedded server's users and their generated passwords, in one 0600 JSON file.

    Passwords are made once (`secrets.token_urlsafe`) and kept; their bcrypt hashes are
    kept beside them so a restart does not pay the hashing again.
    """

    def __init__(self, path: Path, *, cost: int = BCRYPT_COST) -> None:
        self.path = path
        self.cost = cost

    def load(self) -> dict[str, UserSecret]:
        if not self.path.exists():
            return {}
        check_private(self.path)
        try:
            raw = json.loads(self.path.read_text())
            return {
                name: UserSecret(Secret(entry["password"]), entry["bcrypt"])
                for name, entry in raw["users"].items()
            }
        except (ValueError, KeyError, TypeError) as exc:
            raise CredentialsError(
                f"{self.path} is not a credentials file alpha-panda wrote ({type(exc).__name__});"
                f" move it aside and start again to generate new credentials"
            ) from None

    def ensure(self, users: tuple[str, ...]) -> dict[str, UserSecret]:
        """Every user's secret, generating (and storing) those that are missing."""
        known = self.load()
        missing = {u: secrets.token_urlsafe(_SECRET_BYTES) for u in users if u not in known}
        if missing:
            known.update(self._hashed(missing))
            self._write(known)
        return {u: known[u] for u in users}

    def seed(self, passwords: Mapping[str, str]) -> None:
        """Store passwords chosen elsewhere (replacing those of the same users)."""
        known = self.load()
        known.update(self._hashed(passwords))
        self._write(known)

    def _hashed(self, passwords: Mapping[str, str]) -> dict[str, UserSecret]:
        return {
            user: UserSecret(
                Secret(pw), bcrypt.hashpw(pw.encode(), bcrypt.gensalt(self.cost)).decode()
            )
            for user, pw in passwords.items()
        }

    def _write(self, known: Mapping[str, UserSecret]) -> None:
        body = {
            "users": {
                name: {"password": s.password.reveal(), "bcrypt": s.bcrypt_hash}
                for name, s in known.items()
            }
        }
        write_private(self.path, json.dumps(body, indent=2) + "\n")

    def auth_for(self, user: str, tls: ssl.SSLContext | None = None) -> NatsAuth:
        """How to connect as `user` (who must exist in the file)."""
        known = self.load()
        if user not in known:
            raise CredentialsError(
                f"{self.path} has no NATS user {user!r}; restart `alpha-panda up` to create it"
            )
        return NatsAuth(user=user, password=known[user].password, tls=tls)


def _quote(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid nats-server config string


def _subjects(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(_quote(s) for s in items) + "]"


def authorization_block(table: Mapping[str, Permissions], hashes: Mapping[str, str]) -> str:
    """The nats-server `authorization` block: every user of `table` with its bcrypt hash.

    The operator's `>` grants need no `allow_responses`; every other user may answer the
    requests it receives (once each) without a publish grant on other users' inboxes.
    """
    lines = ["authorization {", "  users = ["]
    for user, perms in table.items():
        lines.append("    {")
        lines.append(f"      user: {_quote(user)}")
        lines.append(f"      password: {_quote(hashes[user])}")
        lines.append("      permissions: {")
        lines.append(f"        publish: {{ allow: {_subjects(perms.publish)} }}")
        lines.append(f"        subscribe: {{ allow: {_subjects(perms.subscribe)} }}")
        if perms.publish != (">",):
            lines.append("        allow_responses: true")
        lines.append("      }")
        lines.append("    }")
    lines += ["  ]", "}", ""]
    return "\n".join(lines)
