"""The configured dependencies' checks for `/readyz`: each answers (name, ok, detail), the
detail of a failure naming its remedy. Only what the settings configure is checked."""

from __future__ import annotations

from collections.abc import Sequence

from actors.stores.read_models import ReadModelStore
from ops.settings import Settings
from web.context import ReadyCheck

__all__ = ["ready_checks"]


def _redis(models: ReadModelStore) -> ReadyCheck:
    async def redis() -> tuple[str, bool, str]:
        try:
            await models.ping()
        except Exception as exc:
            return (
                "redis",
                False,
                (f"unreachable ({type(exc).__name__}): start redis-server or fix REDIS_URL"),
            )
        return "redis", True, "reachable"

    return redis


def _postgres(url: str) -> ReadyCheck:
    async def postgresql() -> tuple[str, bool, str]:
        import asyncpg  # type: ignore[import-untyped, unused-ignore]

        try:
            conn = await asyncpg.connect(url, timeout=2.5)
            try:
                await conn.fetchval("SELECT 1")
            finally:
                await conn.close()
        except Exception as exc:
            return (
                "postgresql",
                False,
                (f"unreachable ({type(exc).__name__}): start PostgreSQL or fix DATABASE_URL"),
            )
        return "postgresql", True, "reachable"

    return postgresql


def _kafka(servers: str, env: str) -> ReadyCheck:
    async def kafka() -> tuple[str, bool, str]:
        from bridge.topics.admin import check_topics

        try:
            problems = await check_topics(servers, env)
        except Exception as exc:
            return (
                "kafka",
                False,
                (
                    f"unreachable ({type(exc).__name__}): start the Kafka API "
                    "or fix KAFKA_BOOTSTRAP_SERVERS"
                ),
            )
        if problems:
            return "kafka", False, "; ".join(problems)
        return "kafka", True, "topics as the overlay expects"

    return kafka


def _zerodha(settings: Settings) -> ReadyCheck:
    async def zerodha_session() -> tuple[str, bool, str]:
        from actors.kite.session import load_session

        try:
            load_session(settings)
        except Exception as exc:  # KiteSessionError names the missing variable and the login
            return "zerodha session", False, str(exc)
        return "zerodha session", True, "key and access token present"

    return zerodha_session


def ready_checks(settings: Settings, models: ReadModelStore | None) -> Sequence[ReadyCheck]:
    checks: list[ReadyCheck] = []
    if settings.redis_url and models is not None:
        checks.append(_redis(models))
    if settings.database_url:
        checks.append(_postgres(settings.database_url.get_secret_value()))
    if settings.kafka_bootstrap_servers:
        checks.append(_kafka(settings.kafka_bootstrap_servers, settings.env))
    if "zerodha" in settings.brokers:
        checks.append(_zerodha(settings))
    return checks
