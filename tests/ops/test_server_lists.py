"""Every server setting in list form: DATABASE_URL with several hosts, as libpq reads it."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped, unused-ignore]

from ops.preflight import check_secrets
from ops.settings import load_settings
from supervisors.embedded_nats import free_port
from tests.stores.conftest import database_server, database_url  # noqa: F401 - fixtures

TOKEN = "a-token-of-sixteen-characters-or-more"


def test_production_accepts_a_multi_host_database_url_with_a_password() -> None:
    url = "postgresql://alpha:s3cret-value@db1:5432,db2:5432/alpha"
    check_secrets(load_settings(ALPHA_PANDA_ENV="production", ALPHA_PANDA_API_TOKEN=TOKEN,
                                DATABASE_URL=url))  # fmt: skip


async def test_a_multi_host_database_url_connects_through_the_host_that_answers(
    database_url: str,  # noqa: F811
) -> None:
    # the first host is a closed port: the driver moves on to the next, as libpq does
    parts = urlsplit(database_url)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    netloc = (
        f"{userinfo}@127.0.0.1:{free_port()},{hosts}"
        if userinfo
        else f"127.0.0.1:{free_port()},{hosts}"
    )
    url = urlunsplit(parts._replace(netloc=netloc))
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()
