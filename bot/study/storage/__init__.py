"""studybot's storage: one `Store` over a backend chosen from a URL, with one module of queries per feature.

    backend.py     the interface (`Backend`, `Tx`), `IntegrityError`, the URL, the time format
    sqlite.py      SQLite through aiosqlite: the embedded default, one host
    postgres.py    PostgreSQL through an asyncpg pool: several processes on several hosts
    migrations.py  the numbered migrations, for both backends
    admin.py  questions.py  groups.py  sessions.py  quizzes.py  reviews.py  progress.py   the queries
    (server notes, privacy and the gap report keep theirs beside their feature: bot/curation/store.py,
    bot/privacy/store.py, bot/insights/gap_queries.py)

Scoping: every table but `user_settings` carries `guild_id` and every query filters on it, so nothing of one
server is visible from another. `user_settings` (the timezone) belongs to the person, not to a server.
Child rows point at their parent through `(guild_id, parent_id)` foreign keys, so the database itself
refuses a member, session or attempt filed under another server's group or run. Direct messages use guild 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.study.storage.admin import AdminQueries
from bot.study.storage.backend import (
    Backend,
    DatabaseUrl,
    IntegrityError,
    Tx,
    db_time,
    from_db_time,
    open_backend,
    to_db_time,
)
from bot.study.storage.groups import GroupQueries, name_key
from bot.study.storage.migrations import MIGRATIONS, SCHEMA_VERSION, Migration
from bot.study.storage.progress import ProgressQueries
from bot.study.storage.questions import QuestionQueries
from bot.study.storage.quizzes import QuizQueries
from bot.study.storage.reviews import ReviewQueries
from bot.study.storage.sessions import SessionQueries
from bot.study.storage.sqlite import split_statements


class Store(AdminQueries, QuestionQueries, GroupQueries, SessionQueries, QuizQueries, ReviewQueries,
            ProgressQueries):
    """The study database. Open with `await Store.open(url_or_path)`; close with `await store.close()`."""

    def __init__(self, db: Backend):
        self.db = db

    @classmethod
    async def open(cls, target: str | Path, migrations: Sequence[Migration] = MIGRATIONS) -> Store:
        """Connect (a SQLite path or `sqlite:///…`, or `postgresql://…`) and migrate to the latest schema.

        `migrations` exists for tests that need a database at an earlier version.
        """
        db = await open_backend(target)
        try:
            await db.migrate(migrations)
        except BaseException:
            await db.close()
            raise
        return cls(db)

    @property
    def dialect(self) -> str:
        return self.db.dialect

    async def close(self) -> None:
        """Close the connection(s) (waits for a running operation)."""
        await self.db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def schema_version(self) -> int:
        """The number of migrations applied."""
        return await self.db.schema_version()

    async def pragma(self, name: str) -> Any:
        """Read one SQLite PRAGMA (diagnostics and tests)."""
        return await self.db.pragma(name)  # type: ignore[attr-defined]

    def transaction(self):  # noqa: ANN201 - an async context manager of a Tx
        """A write transaction (for feature modules that keep their SQL elsewhere, and for tests)."""
        return self.db.transaction()

    def read(self):  # noqa: ANN201
        """A consistent snapshot for several reads."""
        return self.db.read()

    async def table_counts(self, guild_id: int) -> dict[str, int]:
        """Rows per guild-scoped table for one server (diagnostics and isolation tests)."""
        tables = await self.db.tables_with_column("guild_id")
        async with self.db.read() as tx:
            return {t: int(await tx.fetchval(f"SELECT COUNT(*) FROM {t} WHERE guild_id = ?", guild_id) or 0)
                    for t in tables}


__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Backend", "DatabaseUrl", "IntegrityError", "Migration", "Store", "Tx",
           "db_time", "from_db_time", "name_key", "open_backend", "split_statements", "to_db_time"]
