"""The PostgreSQL backend: an asyncpg connection pool, for several bot processes on several hosts.

Everything that must hold across processes is the database's: each write is a transaction; work queues are
claimed with `SELECT … FOR UPDATE SKIP LOCKED`; `tx.lock(key)` is a transaction-scoped advisory lock; the
migrations run under a session advisory lock, so N processes starting at once apply each exactly once; and
`tx.notify` is a NOTIFY that other processes receive through `listen` (LISTEN on a dedicated connection).

The URL may name a schema (`?search_path=name`, any other query parameter is a server setting too); the
lock keys and notifications are scoped by it, so several deployments (or tests) can share one database.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from bot.errors import StudybotError
from bot.study.storage.backend import Backend, IntegrityError, Listener, Row, Tx, to_db_time

log = logging.getLogger("studybot.storage")
POOL_SIZE = 10


@functools.lru_cache(maxsize=2048)
def dollar_placeholders(sql: str) -> str:
    """`?` placeholders (outside quoted literals) as PostgreSQL's `$1, $2, …`."""
    out, n, quoted = [], 0, False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        if ch == "?" and not quoted:
            n += 1
            out.append(f"${n}")
        else:
            out.append(ch)
    return "".join(out)


def _count(status: str) -> int:
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresTx(Tx):
    dialect = "postgresql"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, conn: asyncpg.Connection, scope: str):
        self._conn = conn
        self._scope = scope

    async def execute(self, sql: str, *args: Any) -> int:
        try:
            return _count(await self._conn.execute(dollar_placeholders(sql), *args))
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from exc

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            await self._conn.executemany(dollar_placeholders(sql), [tuple(r) for r in rows])
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from exc

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        try:
            return list(await self._conn.fetch(dollar_placeholders(sql), *args))
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from exc

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        async with self._conn.transaction():
            yield

    async def lock(self, key: str) -> None:
        await self._conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"{self._scope}:{key}")

    async def notify(self, channel: str, payload: str) -> None:
        await self._conn.execute("SELECT pg_notify($1, $2)", channel, f"{self._scope}:{payload}")


class PostgresBackend(Backend):
    """The study database in PostgreSQL (one schema of it)."""

    dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool, url: str, dsn: str, scope: str):
        self._pool = pool
        self._dsn = dsn
        self._listeners: list[asyncpg.Connection] = []
        self.url = url
        self.scope = scope  # the schema: the namespace of lock keys and notifications

    @classmethod
    async def connect(cls, url: str) -> PostgresBackend:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        size = int(query.pop("pool_size", POOL_SIZE))
        dsn = urlunsplit(parts._replace(query=urlencode(query)))
        try:
            pool = await asyncpg.create_pool(dsn, min_size=1, max_size=size)
        except (OSError, asyncpg.PostgresError) as exc:
            raise StudybotError(f"Could not connect to PostgreSQL at {parts.hostname}:{parts.port or 5432} "
                                f"({exc}). Check STUDYBOT_DATABASE.") from exc
        scope = await pool.fetchval("SELECT current_schema()")
        if scope is None:
            await pool.close()
            raise StudybotError(f"No schema of search_path ({query.get('search_path', 'the default')}) exists in "
                                "that database: create it (CREATE SCHEMA …) or fix STUDYBOT_DATABASE.")
        return cls(pool, url, dsn, scope)

    async def close(self) -> None:
        for conn in self._listeners:
            await conn.close()
        self._listeners.clear()
        await self._pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield PostgresTx(conn, self.scope)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            yield PostgresTx(conn, self.scope)

    async def schema_version(self) -> int:
        async with self._pool.acquire() as conn:
            if await conn.fetchval("SELECT to_regclass('studybot_schema')") is None:
                return 0
            return int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM studybot_schema"))

    async def tables_with_column(self, column: str) -> list[str]:
        rows = await self._pool.fetch("SELECT table_name FROM information_schema.columns WHERE table_schema = "
                                      "current_schema() AND column_name = $1 ORDER BY table_name", column)
        return [r[0] for r in rows]

    async def migrate(self, migrations: Sequence[Any]) -> None:
        """Each missing migration in its own transaction, all under one advisory lock held for the whole run."""
        from bot.study.storage.migrations import MIGRATIONS

        async with self._pool.acquire() as conn:
            key = f"{self.scope}:studybot.migrate"
            await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", key)
            try:
                await conn.execute("CREATE TABLE IF NOT EXISTS studybot_schema (version INTEGER PRIMARY KEY, "
                                   "applied_at TEXT NOT NULL)")
                version = int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM studybot_schema"))
                if version > len(MIGRATIONS):
                    raise StudybotError(f"The database {version=} is newer than this studybot ({len(MIGRATIONS)}). "
                                        "Upgrade studybot, or point STUDYBOT_DATABASE at another database.")
                for number in range(version + 1, len(migrations) + 1):
                    async with conn.transaction():
                        await conn.execute(migrations[number - 1].postgres)
                        await conn.execute("INSERT INTO studybot_schema (version, applied_at) VALUES ($1, $2)",
                                           number, to_db_time(datetime.now(UTC)))
                    log.info("database migrated to version %d", number)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", key)

    async def listen(self, channel: str, callback: Listener) -> bool:
        prefix = f"{self.scope}:"

        def on_notify(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            if payload.startswith(prefix):
                result = callback(payload[len(prefix):])
                if result is not None:
                    asyncio.ensure_future(result)

        conn = await asyncpg.connect(self._dsn)
        await conn.add_listener(channel, on_notify)
        self._listeners.append(conn)
        return True
