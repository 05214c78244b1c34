"""The SQLite backend (aiosqlite): one file, WAL, foreign keys, `PRAGMA user_version` as the schema version.

One connection per process: statements on it are queued behind an `asyncio.Lock` (a connection runs one
statement at a time). Writes are `BEGIN IMMEDIATE` transactions, so every writer, in this process or another
process on the same host, waits for the file's write lock (up to `busy_timeout`): that lock is what makes a
claim or a limit check safe across processes, and migrating under it makes N concurrent starts migrate once.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.errors import StudybotError
from bot.study.storage.backend import Backend, IntegrityError, Row, Tx

BUSY_TIMEOUT_MS = 5000


def split_statements(script: str) -> list[str]:
    """Split a migration script into complete SQL statements (triggers with inner `;` stay whole)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(ln.strip().startswith("--") for ln in buffer.strip().splitlines()):
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:80]}")
    return statements


class SQLiteTx(Tx):
    dialect = "sqlite"

    def __init__(self, db: aiosqlite.Connection):
        self._db = db
        self._savepoints = 0

    async def _run(self, sql: str, args: Sequence[Any]) -> aiosqlite.Cursor:
        try:
            return await self._db.execute(sql, tuple(args))
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc

    async def execute(self, sql: str, *args: Any) -> int:
        cur = await self._run(sql, args)
        await cur.fetchall()  # drain: an UPDATE … RETURNING completes only when stepped to the end
        return cur.rowcount

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            await self._db.executemany(sql, [tuple(r) for r in rows])
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        cur = await self._run(sql, args)
        try:
            return list(await cur.fetchall())
        except sqlite3.IntegrityError as exc:  # raised while stepping an INSERT … RETURNING
            raise IntegrityError(str(exc)) from exc

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        self._savepoints += 1
        name = f"sp{self._savepoints}"
        await self._db.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            await self._db.execute(f"ROLLBACK TO {name}")
            await self._db.execute(f"RELEASE {name}")
            raise
        await self._db.execute(f"RELEASE {name}")


class SQLiteBackend(Backend):
    """The study database in one SQLite file."""

    dialect = "sqlite"

    def __init__(self, db: aiosqlite.Connection, path: Path):
        self._db = db
        self._lock = asyncio.Lock()
        self.path = path
        self.url = f"sqlite:///{path}"

    @classmethod
    async def connect(cls, path: Path) -> SQLiteBackend:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await _set_wal(db)
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            await db.close()
            raise
        return cls(db, path)

    async def close(self) -> None:
        async with self._lock:
            await self._db.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._lock:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                yield SQLiteTx(self._db)
                await self._db.execute("COMMIT")
            except BaseException:
                # Shielded: even a cancelled task must not leave the shared connection inside a transaction.
                await asyncio.shield(self._end("ROLLBACK"))
                raise

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        async with self._lock:
            try:
                await self._db.execute("BEGIN")
                yield SQLiteTx(self._db)
            finally:
                await asyncio.shield(self._end("COMMIT"))

    async def _end(self, statement: str) -> None:
        """End the open transaction. Queued behind any statement still running (even of a cancelled task);
        a no-op when there is no transaction (BEGIN itself failed, or SQLite already rolled back)."""
        try:
            await self._db.execute(statement)
        except sqlite3.OperationalError as exc:
            if "no transaction is active" not in str(exc):
                raise

    async def pragma(self, name: str) -> Any:
        """Read one PRAGMA (diagnostics and tests)."""
        if not name.isidentifier():
            raise ValueError(name)
        async with self._lock:
            row = await (await self._db.execute(f"PRAGMA {name}")).fetchone()
            return row[0] if row else None

    async def schema_version(self) -> int:
        return int(await self.pragma("user_version"))

    async def tables_with_column(self, column: str) -> list[str]:
        async with self.read() as tx:
            tables = [r[0] for r in await tx.fetch("SELECT name FROM sqlite_master WHERE type = 'table' "
                                                   "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
            return [t for t in tables if column in {r[1] for r in await tx.fetch(f"PRAGMA table_info({t})")}]

    async def migrate(self, migrations: Sequence[Any]) -> None:
        """Each missing migration in its own write transaction with its version bump.

        The version is re-read under the write lock, so a process that waited for another one's migration
        sees it done and applies nothing twice.
        """
        from bot.study.storage.migrations import MIGRATIONS

        async with self._lock:
            while True:
                await self._db.execute("BEGIN IMMEDIATE")
                try:
                    row = await (await self._db.execute("PRAGMA user_version")).fetchone()
                    version = int(row[0])
                    if version > len(MIGRATIONS):
                        raise StudybotError(f"The database {version=} is newer than this studybot "
                                            f"({len(MIGRATIONS)}). Upgrade studybot, or point STUDYBOT_DATABASE "
                                            "at another database.")
                    if version >= len(migrations):
                        await self._db.execute("COMMIT")
                        return
                    for statement in split_statements(migrations[version].sqlite):
                        await self._db.execute(statement)
                    await self._db.execute(f"PRAGMA user_version = {version + 1}")
                except BaseException:
                    await self._db.execute("ROLLBACK")
                    raise
                await self._db.execute("COMMIT")


async def _set_wal(db) -> None:
    """Switch to WAL. The switch needs the file to itself, and SQLite can refuse it at once with "database is
    locked" (the busy handler is not always consulted) while several processes open a new file together: retry."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            await db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or loop.time() > deadline:
                raise
            await asyncio.sleep(0.05)
