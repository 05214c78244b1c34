"""Databases for the storage tests: a SQLite file, or a fresh schema of the PostgreSQL in STUDYBOT_TEST_DATABASE.

Each test gets its own SQLite file or its own PostgreSQL schema (dropped afterwards), so tests stay
independent and may run against one server. Without STUDYBOT_TEST_DATABASE the PostgreSQL cases skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

BACKENDS = ("sqlite", "postgresql")
PG_ENV = "STUDYBOT_TEST_DATABASE"
NO_PG = (f"PostgreSQL tests need {PG_ENV}=postgresql://user@host:port/db (CI starts one with "
         "`source .ci/postgres.sh`)")


def pg_server() -> str | None:
    return os.environ.get(PG_ENV) or None


def with_search_path(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["search_path"] = schema
    return urlunsplit(parts._replace(query=urlencode(query)))


@asynccontextmanager
async def pg_schema(prefix: str = "t") -> AsyncIterator[str]:
    """A new, empty schema in the test server; yields the URL that works in it. Dropped on exit."""
    import asyncpg

    server = pg_server()
    if server is None:
        if os.environ.get("CI"):  # .ci/run starts one: a CI run without it must not pass by skipping
            pytest.fail(f"CI is set but {PG_ENV} is not: .ci/postgres.sh did not start PostgreSQL")
        pytest.skip(NO_PG)
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    try:
        yield with_search_path(server, schema)
    finally:
        conn = await asyncpg.connect(server)
        try:
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        finally:
            await conn.close()


@asynccontextmanager
async def database(backend: str, folder: Path) -> AsyncIterator[str]:
    """A URL of an empty database of this backend."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'data' / 'studybot.sqlite3'}"
    else:
        async with pg_schema() as url:
            yield url
