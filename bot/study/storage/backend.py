"""The storage interface every backend implements, and what the query modules may rely on.

A feature's query module writes its SQL once, with `?` placeholders, in the subset both SQLite and PostgreSQL
accept (`INSERT … ON CONFLICT`, `RETURNING`, partial indexes). What differs between the two is behind `Tx`:
placeholders, row counts, `tx.skip_locked` (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite already
serialises writers), `tx.lock(key)` (a transaction-scoped advisory lock on PostgreSQL), `tx.notify(...)`, and
the integrity errors, which both backends raise as `IntegrityError`.

Timestamps are stored as fixed-width UTC ISO text on both backends, so text order is time order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
DEFAULT_SQLITE_FILE = "studybot.sqlite3"


class IntegrityError(Exception):
    """A unique, foreign-key or check constraint refused a write (on either backend)."""


class Row(Protocol):
    """A result row: by position (`row[0]`) and by column name (`row["id"]`), like sqlite3.Row and asyncpg.Record."""

    def __getitem__(self, key: int | str) -> Any: ...


def to_db_time(moment: datetime) -> str:
    """An aware datetime as the fixed-width UTC text stored in the database."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime (UTC)")
    return moment.astimezone(UTC).strftime(_TS_FORMAT)


def from_db_time(text: str | None) -> datetime | None:
    """Stored text back to an aware UTC datetime."""
    return None if text is None else datetime.strptime(text, _TS_FORMAT).replace(tzinfo=UTC)


def db_time(text: str) -> datetime:
    """Stored text (never NULL) back to an aware UTC datetime."""
    moment = from_db_time(text)
    assert moment is not None
    return moment


class Tx(ABC):
    """One transaction (or consistent read) on one connection. Statements use `?` placeholders."""

    dialect: str
    skip_locked: str = ""  # appended to a `SELECT … FOR UPDATE` claim on backends that have it

    @abstractmethod
    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; returns the number of rows it changed."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of arguments."""

    @abstractmethod
    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        """Every row of a query (or of a statement with RETURNING)."""

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        """The first row, or None."""
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """The first column of the first row, or None."""
        row = await self.fetchrow(sql, *args)
        return None if row is None else row[0]

    @abstractmethod
    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """A nested block that rolls back alone when it raises (the transaction goes on)."""

    async def lock(self, key: str) -> None:
        """Serialise this transaction with any other holding `key` (in any process) until it ends.

        SQLite needs nothing: a write transaction (`BEGIN IMMEDIATE`) already excludes every other writer.
        """

    async def notify(self, channel: str, payload: str) -> None:
        """Tell listening processes that something changed, once this transaction commits (PostgreSQL)."""


Listener = Callable[[str], Awaitable[None] | None]


class Backend(ABC):
    """A database: transactions, reads, migrations, change notifications."""

    dialect: str
    url: str

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """A write transaction: commit on success, roll back everything on any exception."""

    @abstractmethod
    def read(self) -> AbstractAsyncContextManager[Tx]:
        """A consistent snapshot for reads of several statements."""

    @abstractmethod
    async def migrate(self, migrations: Sequence[Any]) -> None:
        """Apply the missing migrations under a lock, so concurrent starts apply each exactly once."""

    @abstractmethod
    async def schema_version(self) -> int:
        """The number of migrations applied."""

    @abstractmethod
    async def tables_with_column(self, column: str) -> list[str]:
        """Names of the tables that have this column (diagnostics and isolation tests)."""

    async def listen(self, channel: str, callback: Listener) -> bool:
        """Call `callback(payload)` on each notification; False when this backend has none (poll instead)."""
        return False

    @abstractmethod
    async def close(self) -> None:
        """Close every connection."""


@dataclass(frozen=True)
class DatabaseUrl:
    """`sqlite:///relative/or//absolute/path`, a plain path, or `postgresql://user@host:port/db?…`."""

    dialect: str
    url: str
    path: Path | None = None

    @classmethod
    def parse(cls, target: str | Path) -> DatabaseUrl:
        if isinstance(target, Path):
            return cls("sqlite", f"sqlite:///{target}", target)
        text = target.strip()
        if text.startswith(("postgresql://", "postgres://")):
            return cls("postgresql", text)
        if text.startswith("sqlite:///"):
            return cls("sqlite", text, Path(text.removeprefix("sqlite:///")))
        if "://" in text:
            raise ValueError(f"unsupported database URL {text.split('://')[0]}://…: use sqlite:/// or postgresql://")
        return cls("sqlite", f"sqlite:///{text}", Path(text))

    @property
    def redacted(self) -> str:
        """The URL without its password, to show in messages."""
        import re

        return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", self.url)


async def open_backend(target: str | Path) -> Backend:
    """Connect to the database a URL (or a SQLite path) names. Does not migrate."""
    parsed = DatabaseUrl.parse(target)
    if parsed.dialect == "postgresql":
        from bot.study.storage.postgres import PostgresBackend

        return await PostgresBackend.connect(parsed.url)
    from bot.study.storage.sqlite import SQLiteBackend

    assert parsed.path is not None
    return await SQLiteBackend.connect(parsed.path)
