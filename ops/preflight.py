"""Start-up checks that fail fast with a message naming the fix.

- the running Python against the installed nats-py and aiokafka (the combinations that are
  known to break: asyncio changes in 3.12 and 3.13);
- in `production`, secrets that are empty or still at a well-known default;
- with the zerodha broker enabled, a Kite session that exists, is not past its 06:00 IST
  expiry and that Kite accepts (one `profile()` call with a short timeout).
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ops.errors import CompatibilityError
from ops.settings import Settings
from schemas.errors import ConfigError
from supervisors.nats_urls import parse_servers

if TYPE_CHECKING:
    from supervisors.bus import Bus

__all__ = [
    "check_compatibility",
    "check_nats_server",
    "check_secrets",
    "check_refuses_anonymous",
    "check_streams",
    "check_zerodha_session",
    "DEFAULT_SECRETS",
    "parse_version",
]

MIN_NATS_SERVER = (2, 10)

# (python >=, package, minimum version): older releases break on that Python.
_REQUIREMENTS: tuple[tuple[tuple[int, int], str, tuple[int, ...]], ...] = (
    ((3, 11), "nats-py", (2, 9)),
    ((3, 11), "aiokafka", (0, 11)),
    ((3, 12), "aiokafka", (0, 11)),
    ((3, 13), "nats-py", (2, 9)),
    ((3, 13), "aiokafka", (0, 12)),
)
_MAXIMUM: dict[str, tuple[int, ...]] = {"nats-py": (3,)}

DEFAULT_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "password", "postgres", "admin", "token", "test",
     "dev", "default", "alpha-panda", "xxx", "your_api_key", "your_api_secret"}
)  # fmt: skip


def parse_version(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
        if not piece.isdigit():
            break
    return tuple(parts)


def check_compatibility(
    python: tuple[int, int] | None = None, versions: dict[str, str] | None = None
) -> None:
    """Raise CompatibilityError naming the upgrade when Python and libraries do not fit."""
    py = python or (sys.version_info.major, sys.version_info.minor)
    if py < (3, 11):
        raise CompatibilityError(
            f"alpha-panda needs Python 3.11 or newer, this is {py[0]}.{py[1]}; "
            "create the virtualenv with python3.11+"
        )
    needed: dict[str, tuple[int, ...]] = {}
    for min_py, package, minimum in _REQUIREMENTS:
        if py >= min_py:
            needed[package] = max(minimum, needed.get(package, ()))
    problems = []
    for package, minimum in needed.items():
        installed = _installed(package, versions)
        if installed is None:
            problems.append(f"{package} is not installed: pip install -e '.[dev]'")
            continue
        have = parse_version(installed)
        if have < minimum:
            want = ".".join(map(str, minimum))
            problems.append(
                f"{package} {installed} does not work on Python {py[0]}.{py[1]}: "
                f"pip install '{package}>={want}'"
            )
        ceiling = _MAXIMUM.get(package)
        if ceiling and have >= ceiling:
            problems.append(
                f"{package} {installed} is a major version alpha-panda was not built for: "
                f"pip install '{package}<{'.'.join(map(str, ceiling))}'"
            )
    if problems:
        raise CompatibilityError("; ".join(problems))


def _installed(package: str, versions: dict[str, str] | None) -> str | None:
    if versions is not None:
        return versions.get(package)
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _weak(value: str | None) -> bool:
    return value is None or value.strip().lower() in DEFAULT_SECRETS


def check_secrets(settings: Settings) -> None:
    """In production, refuse empty or default secrets; elsewhere accept anything."""
    if settings.env != "production":
        return
    problems = []
    token = settings.api_token.get_secret_value() if settings.api_token else None
    if _weak(token) or len(token or "") < 16:
        problems.append(
            "ALPHA_PANDA_API_TOKEN must be set to a random value of 16+ characters "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    if "zerodha" in settings.brokers:
        for name, secret in (
            ("KITE_API_KEY", settings.kite_api_key),
            ("KITE_API_SECRET", settings.kite_api_secret),
        ):
            if _weak(secret.get_secret_value() if secret else None):
                problems.append(f"{name} must be set to your Kite Connect app's value")
    for name, url in (("DATABASE_URL", settings.database_url), ("REDIS_URL", settings.redis_url)):
        if url is None:
            continue
        parts = urlsplit(url.get_secret_value())
        if parts.password is None or _weak(parts.password):
            problems.append(f"{name} must carry a non-default password")
    if problems:
        raise ConfigError("refusing to start in production: " + "; ".join(problems))


def check_nats_server(version: str, jetstream: bool = True) -> None:
    """The server must run JetStream and be 2.10+ (consumers filter on several subjects)."""
    have = parse_version(version)
    if have < MIN_NATS_SERVER:
        raise CompatibilityError(
            f"nats-server {version} is too old: alpha-panda needs 2.10 or newer (consumers "
            "with several filter subjects); upgrade the server, or unset NATS_URL to use the "
            "embedded one"
        )
    if not jetstream:
        raise CompatibilityError(
            "the NATS server has JetStream disabled: start it with -js (or jetstream {} in "
            "its config), or unset NATS_URL to use the embedded server"
        )


async def check_refuses_anonymous(url: str, tls: ssl.SSLContext | None = None) -> None:
    """Production: refuse a server that lets a client in without credentials."""
    import nats

    async def quiet(exc: Exception) -> None:
        pass  # the refusal is the expected outcome, not an error worth a log line

    try:
        nc = await nats.connect(
            servers=list(parse_servers(url)), connect_timeout=3, allow_reconnect=False,
            max_reconnect_attempts=0, error_cb=quiet, tls=tls,
        )  # fmt: skip
    except Exception:  # refused (or unreachable: the real connection reports that)
        return
    await nc.close()
    raise ConfigError(
        f"refusing to start in production: the NATS server at {url} accepts clients without "
        "credentials; enable authorization on it (`alpha-panda ops nats-config --out FILE` "
        "writes the users and permissions block) and set NATS_CREDS, NATS_USER/NATS_PASSWORD, "
        "NATS_NKEY_SEED or NATS_TOKEN"
    )


async def check_streams(bus: Bus, streams: Sequence[str]) -> None:
    """A process that may not create streams checks that the ones it uses exist."""
    missing = []
    for stream in streams:
        try:
            await bus.js.stream_info(stream)
        except Exception:
            missing.append(stream)
    if missing:
        raise ConfigError(
            f"streams {', '.join(missing)} do not exist and this process's NATS user may not "
            "create them: run `alpha-panda ops bootstrap` as the operator, or start the "
            "control role first"
        )


def check_zerodha_session(settings: Settings, *, timeout_s: float = 3.0) -> None:
    """With zerodha enabled: fail fast (KiteSessionError, a ConfigError) on a missing or
    expired session or one Kite rejects; an unreachable Kite is only warned about here (the
    zerodha subtree halts on it, paper trades on)."""
    if "zerodha" not in settings.brokers:
        return
    import logging

    from kiteconnect import exceptions as kex

    from actors.kite.session import LOGIN_HINT, KiteSessionError, kite_client, load_session

    session = load_session(settings)
    try:
        kite_client(session, timeout_s=timeout_s).profile()
    except kex.TokenException:
        raise KiteSessionError(
            f"Kite rejected the zerodha access token from {session.source} (TokenException: "
            f"expired at 06:00 IST or logged out): {LOGIN_HINT}"
        ) from None
    except Exception as exc:  # unreachable or failing: not a credentials problem
        logging.getLogger("alpha_panda.preflight").warning(
            "could not check the zerodha session at %s (%s); starting anyway",
            session.root, type(exc).__name__,
        )  # fmt: skip
