"""NATS_URL as every NATS client takes it: one server, or a comma-separated seed list.

`nats://a:4222,nats://b:4222,nats://c:4222` names the members of a cluster a client may
connect to; the client picks one, learns the rest from the server (`connect_urls`) and
moves to another when its server goes away. An entry without a scheme is a `nats://` one
(`a:4222`), as the nats CLI reads it; a port left out is NATS's 4222.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from schemas.errors import ConfigError

__all__ = ["InvalidNatsUrl", "SCHEMES", "parse_servers", "join_servers"]

SCHEMES = ("nats", "tls", "ws", "wss")


class InvalidNatsUrl(ConfigError):
    """NATS_URL (or var/nats.url) holds an entry no NATS client can connect to."""

    def __init__(self, entry: str, problem: str) -> None:
        shown = _mask(entry)
        super().__init__(
            f"NATS_URL entry {shown!r} is not a server URL ({problem}); expected "
            "nats://HOST:PORT, or several separated by commas "
            "(nats://n1:4222,nats://n2:4222,nats://n3:4222)"
        )
        self.entry = shown


def _mask(entry: str) -> str:
    """The entry for a message: a password inside it masked."""
    scheme, sep, rest = entry.partition("://")
    userinfo, at, host = rest.partition("@")
    if not at:
        return entry
    user = userinfo.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}" if ":" in userinfo else f"{scheme}{sep}***@{host}"


def _one(entry: str) -> str:
    url = entry if "://" in entry else f"nats://{entry}"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number in range
    except ValueError as exc:
        raise InvalidNatsUrl(entry, str(exc)) from None
    if parts.scheme not in SCHEMES:
        raise InvalidNatsUrl(entry, f"scheme {parts.scheme!r} is not one of {', '.join(SCHEMES)}")
    if not parts.hostname:
        raise InvalidNatsUrl(entry, "no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidNatsUrl(entry, "a server URL has no path or query")
    if port == 0:
        raise InvalidNatsUrl(entry, "port 0")
    return url


def parse_servers(value: str) -> tuple[str, ...]:
    """The servers of a NATS_URL, each a full URL; InvalidNatsUrl names a malformed one."""
    entries = [e.strip() for e in value.split(",")]
    if not any(entries):
        raise InvalidNatsUrl(value, "empty")
    if not all(entries):
        raise InvalidNatsUrl(value, "an empty entry between commas")
    return tuple(dict.fromkeys(_one(e) for e in entries))


def join_servers(servers: tuple[str, ...]) -> str:
    """The list written back in NATS_URL's form."""
    return ",".join(servers)
