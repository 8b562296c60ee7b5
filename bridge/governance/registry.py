"""A small client of a Confluent-compatible schema registry (Redpanda's, Confluent's, Karapace).

Blocking `urllib` calls run in a worker thread (`asyncio.to_thread`), which keeps the
bridge free of another HTTP dependency; registry calls are rare (once per subject).
"""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Final

from bridge.errors import RegistryError

__all__ = ["RegistryClient", "subject_for_topic", "COMPATIBILITY_LEVELS"]

_CONTENT_TYPE: Final = "application/vnd.schemaregistry.v1+json"
COMPATIBILITY_LEVELS: Final = (
    "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL",
    "FULL_TRANSITIVE", "NONE",
)  # fmt: skip
_NOT_FOUND_CODES: Final = (40401, 40402, 40403)


def subject_for_topic(topic: str) -> str:
    """The TopicNameStrategy subject of a topic's values."""
    return f"{topic}-value"


class RegistryClient:
    """Registry REST calls; credentials in the URL (`https://user:pass@host`) become Basic auth."""

    def __init__(self, url: str, *, timeout_s: float = 5.0) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise RegistryError(f"SCHEMA_REGISTRY_URL must be http(s)://host:port, got {url!r}")
        self._auth = ""
        if parts.username:
            user = urllib.parse.unquote(parts.username)
            creds = f"{user}:{urllib.parse.unquote(parts.password or '')}"
            self._auth = "Basic " + base64.b64encode(creds.encode()).decode()
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        self.base = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        self.timeout_s = timeout_s

    def __repr__(self) -> str:  # never print credentials
        return f"RegistryClient({self.base!r})"

    # --- subjects and schemas ----------------------------------------------------------------

    async def subjects(self) -> list[str]:
        return list(await self._call("GET", "/subjects"))

    async def register(self, subject: str, schema: dict[str, Any]) -> int:
        """Register (idempotent: an identical schema returns its existing id)."""
        body = await self._call("POST", f"/subjects/{_q(subject)}/versions", _schema_body(schema))
        return int(body["id"])

    async def lookup(self, subject: str, schema: dict[str, Any]) -> int | None:
        """The id of `schema` under `subject`, or None when the subject lacks it."""
        try:
            body = await self._call("POST", f"/subjects/{_q(subject)}", _schema_body(schema))
        except RegistryError as exc:
            if exc.code in _NOT_FOUND_CODES or exc.status == 404:
                return None
            raise
        return int(body["id"])

    async def schema_by_id(self, schema_id: int) -> dict[str, Any]:
        body = await self._call("GET", f"/schemas/ids/{schema_id}")
        schema = json.loads(body["schema"])
        if not isinstance(schema, dict):
            raise RegistryError(f"schema {schema_id} is not an Avro record schema")
        return schema

    async def latest_version(self, subject: str) -> int | None:
        try:
            body = await self._call("GET", f"/subjects/{_q(subject)}/versions/latest")
        except RegistryError as exc:
            if exc.code in _NOT_FOUND_CODES or exc.status == 404:
                return None
            raise
        return int(body["version"])

    async def is_compatible(self, subject: str, schema: dict[str, Any]) -> bool:
        """Whether `schema` may be registered under `subject` (True for a new subject)."""
        try:
            body = await self._call(
                "POST",
                f"/compatibility/subjects/{_q(subject)}/versions/latest",
                _schema_body(schema),
            )
        except RegistryError as exc:
            if exc.code in _NOT_FOUND_CODES or exc.status == 404:
                return True
            raise
        return bool(body.get("is_compatible"))

    # --- compatibility configuration --------------------------------------------------------

    async def get_compatibility(self, subject: str | None = None) -> str:
        path = f"/config/{_q(subject)}" if subject else "/config"
        body = await self._call("GET", path)
        return str(body.get("compatibilityLevel") or body.get("compatibility") or "")

    async def set_compatibility(self, level: str, subject: str | None = None) -> str:
        if level not in COMPATIBILITY_LEVELS:
            raise RegistryError(f"unknown compatibility level {level!r}")
        path = f"/config/{_q(subject)}" if subject else "/config"
        body = await self._call("PUT", path, {"compatibility": level})
        return str(body.get("compatibility") or body.get("compatibilityLevel") or level)

    # --- transport ---------------------------------------------------------------------------

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return await asyncio.to_thread(self._call_sync, method, path, body)

    def _call_sync(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Accept", _CONTENT_TYPE)
        if data is not None:
            request.add_header("Content-Type", _CONTENT_TYPE)
        if self._auth:
            request.add_header("Authorization", self._auth)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                detail = json.loads(raw)
            except ValueError:
                detail = {"message": raw.decode(errors="replace")}
            code = int(detail.get("error_code", 0)) if isinstance(detail, dict) else 0
            message = detail.get("message", "") if isinstance(detail, dict) else str(detail)
            raise RegistryError(
                f"schema registry {method} {path}: HTTP {exc.code} ({code}): {message}"
                + _remedy(exc.code),
                status=exc.code,
                code=code,
            ) from None
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise RegistryError(
                f"schema registry at {self.base} unreachable ({exc}); check SCHEMA_REGISTRY_URL"
            ) from None


def _remedy(status: int) -> str:
    """What to do about a refusal (4xx is not retried; see `RegistryError.retriable`)."""
    if status in (401, 403):
        return "; check the credentials in SCHEMA_REGISTRY_URL (https://user:password@host)"
    if status == 409:
        return "; the subject's versions reject this schema: run `alpha-panda schemas check`"
    if status == 422:
        return "; the registry rejects the schema itself: run `alpha-panda schemas check`"
    return ""


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _schema_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"schema": json.dumps(schema, separators=(",", ":")), "schemaType": "AVRO"}
