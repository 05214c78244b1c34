"""All of studybot's SQL, behind `Store`: SQLite through aiosqlite, WAL, foreign keys, numbered migrations.

Why one module: a PostgreSQL backend later is a second implementation of `Store`'s async methods, not a hunt
through the services. The services pass plain values in and get the dataclasses of `bot.study.models` back.

Scoping: every table but `user_settings` carries `guild_id` and every query filters on it, so nothing of one
server is visible from another. `user_settings` (the timezone) belongs to the person, not to a server.
Child rows point at their parent through `(guild_id, parent_id)` foreign keys, so the database itself
refuses a member, session or attempt filed under another server's group or run. Direct messages use guild 0.

Concurrency: one connection per Store, every operation under an `asyncio.Lock`, writes in
`BEGIN IMMEDIATE` transactions (other processes on the same file wait up to `busy_timeout`). Timestamps are
stored as fixed-width UTC ISO strings, so text order is time order.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.errors import StudybotError
from bot.study.models import (
    Attempt,
    Audit,
    AuditEntry,
    CardState,
    EventCount,
    EventKind,
    Group,
    GuildConfig,
    QuestionStats,
    ReviewReminderCandidate,
    RunKind,
    RunQuestion,
    RunRecord,
    Session,
)

BUSY_TIMEOUT_MS = 5000
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# Append only: a released migration is never edited. `PRAGMA user_version` is the number applied.
MIGRATIONS: tuple[str, ...] = (
    # 1: server settings, timezones, the moderators' audit log, the question log and answer feedback.
    """
    CREATE TABLE guild_settings (
        guild_id          INTEGER PRIMARY KEY,
        moderator_role_id INTEGER,
        updated_at        TEXT NOT NULL
    );
    CREATE TABLE study_channels (
        guild_id   INTEGER NOT NULL,
        channel_id INTEGER NOT NULL,
        added_at   TEXT NOT NULL,
        PRIMARY KEY (guild_id, channel_id)
    );
    CREATE TABLE user_settings (
        user_id    INTEGER PRIMARY KEY,
        timezone   TEXT,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE audit_log (
        id       INTEGER PRIMARY KEY,
        guild_id INTEGER NOT NULL,
        actor_id INTEGER NOT NULL,
        action   TEXT NOT NULL,
        detail   TEXT NOT NULL DEFAULT '',
        at       TEXT NOT NULL
    );
    CREATE INDEX audit_log_guild_at ON audit_log (guild_id, at);
    CREATE TABLE question_log (
        id           INTEGER PRIMARY KEY,
        guild_id     INTEGER NOT NULL,
        user_id      INTEGER NOT NULL,
        question     TEXT NOT NULL,
        answered     INTEGER NOT NULL CHECK (answered IN (0, 1)),
        best_note_id TEXT,
        at           TEXT NOT NULL,
        UNIQUE (guild_id, id)
    );
    CREATE INDEX question_log_guild_at ON question_log (guild_id, at);
    CREATE TABLE answer_feedback (
        id          INTEGER PRIMARY KEY,
        guild_id    INTEGER NOT NULL,
        question_id INTEGER NOT NULL,
        user_id     INTEGER NOT NULL,
        question    TEXT NOT NULL,
        note_id     TEXT,
        helpful     INTEGER NOT NULL CHECK (helpful IN (0, 1)),
        reason      TEXT,
        at          TEXT NOT NULL,
        UNIQUE (question_id, user_id),
        FOREIGN KEY (guild_id, question_id) REFERENCES question_log (guild_id, id) ON DELETE CASCADE
    );
    CREATE INDEX answer_feedback_guild_at ON answer_feedback (guild_id, at);
    """,
    # 2: study groups, their members and scheduled sessions.
    """
    CREATE TABLE study_groups (
        id         INTEGER PRIMARY KEY,
        guild_id   INTEGER NOT NULL,
        name       TEXT NOT NULL,
        name_key   TEXT NOT NULL,
        topic      TEXT,
        channel_id INTEGER,
        owner_id   INTEGER NOT NULL,
        archived   INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
        created_at TEXT NOT NULL,
        UNIQUE (guild_id, id)
    );
    -- Names are unique per server among active groups; an archived group frees its name.
    CREATE UNIQUE INDEX study_groups_active_name ON study_groups (guild_id, name_key) WHERE archived = 0;
    CREATE TABLE group_members (
        guild_id  INTEGER NOT NULL,
        group_id  INTEGER NOT NULL,
        user_id   INTEGER NOT NULL,
        joined_at TEXT NOT NULL,
        PRIMARY KEY (group_id, user_id),
        FOREIGN KEY (guild_id, group_id) REFERENCES study_groups (guild_id, id) ON DELETE CASCADE
    );
    CREATE INDEX group_members_user ON group_members (guild_id, user_id);
    CREATE TABLE study_sessions (
        id               INTEGER PRIMARY KEY,
        guild_id         INTEGER NOT NULL,
        group_id         INTEGER NOT NULL,
        starts_at        TEXT NOT NULL,
        remind_at        TEXT NOT NULL,
        topic            TEXT,
        created_by       INTEGER NOT NULL,
        status           TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled', 'done')),
        reminder_sent_at TEXT,
        created_at       TEXT NOT NULL,
        FOREIGN KEY (guild_id, group_id) REFERENCES study_groups (guild_id, id) ON DELETE CASCADE
    );
    CREATE INDEX study_sessions_due ON study_sessions (status, remind_at);
    CREATE INDEX study_sessions_group ON study_sessions (guild_id, group_id, starts_at);
    """,
    # 3: quizzes (persisted runs), attempts, SM-2 review cards, review reminders, study events and streaks.
    """
    CREATE TABLE quiz_runs (
        id          INTEGER PRIMARY KEY,
        guild_id    INTEGER NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('solo', 'group', 'review')),
        started_by  INTEGER NOT NULL,
        scope       TEXT,
        channel_id  INTEGER,
        seed        INTEGER NOT NULL,
        status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'finished')),
        created_at  TEXT NOT NULL,
        finished_at TEXT,
        UNIQUE (guild_id, id)
    );
    CREATE TABLE quiz_run_questions (
        run_id     INTEGER NOT NULL REFERENCES quiz_runs (id) ON DELETE CASCADE,
        position   INTEGER NOT NULL,
        note_id    TEXT NOT NULL,
        item_index INTEGER NOT NULL,
        question   TEXT NOT NULL,
        PRIMARY KEY (run_id, position),
        UNIQUE (run_id, note_id, item_index)
    );
    CREATE TABLE quiz_attempts (
        id         INTEGER PRIMARY KEY,
        guild_id   INTEGER NOT NULL,
        run_id     INTEGER NOT NULL,
        user_id    INTEGER NOT NULL,
        note_id    TEXT NOT NULL,
        item_index INTEGER NOT NULL,
        chosen     INTEGER NOT NULL,
        correct    INTEGER NOT NULL CHECK (correct IN (0, 1)),
        at         TEXT NOT NULL,
        -- The same person answering the same question of the same run counts once.
        UNIQUE (run_id, user_id, note_id, item_index),
        FOREIGN KEY (guild_id, run_id) REFERENCES quiz_runs (guild_id, id) ON DELETE CASCADE
    );
    CREATE INDEX quiz_attempts_user ON quiz_attempts (guild_id, user_id, note_id);
    CREATE INDEX quiz_attempts_guild_at ON quiz_attempts (guild_id, at);
    CREATE TABLE review_cards (
        guild_id         INTEGER NOT NULL,
        user_id          INTEGER NOT NULL,
        note_id          TEXT NOT NULL,
        item_index       INTEGER NOT NULL,
        repetitions      INTEGER NOT NULL DEFAULT 0,
        interval_days    INTEGER NOT NULL DEFAULT 0,
        ease             REAL NOT NULL DEFAULT 2.5 CHECK (ease >= 1.3),
        lapses           INTEGER NOT NULL DEFAULT 0,
        due_at           TEXT NOT NULL,
        last_reviewed_at TEXT,
        created_at       TEXT NOT NULL,
        PRIMARY KEY (guild_id, user_id, note_id, item_index)
    );
    CREATE INDEX review_cards_due ON review_cards (guild_id, user_id, due_at);
    -- A row means the learner opted in to a daily DM at `hour` (their local time).
    CREATE TABLE review_reminders (
        guild_id     INTEGER NOT NULL,
        user_id      INTEGER NOT NULL,
        hour         INTEGER NOT NULL CHECK (hour BETWEEN 0 AND 23),
        last_sent_on TEXT,
        PRIMARY KEY (guild_id, user_id)
    );
    CREATE TABLE study_events (
        id       INTEGER PRIMARY KEY,
        guild_id INTEGER NOT NULL,
        user_id  INTEGER NOT NULL,
        note_id  TEXT NOT NULL,
        kind     TEXT NOT NULL CHECK (kind IN ('asked', 'opened', 'quizzed')),
        at       TEXT NOT NULL
    );
    CREATE INDEX study_events_user ON study_events (guild_id, user_id, note_id);
    -- One row per learner and local calendar day (their timezone when they studied): streaks.
    CREATE TABLE daily_activity (
        guild_id INTEGER NOT NULL,
        user_id  INTEGER NOT NULL,
        day      TEXT NOT NULL,
        events   INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (guild_id, user_id, day)
    );
    """,
    # 4: server notes (their SQL is in bot/curation/store.py): a server's own notes, which override base notes of
    # the same id in that server only, the base notes it hides, and the note an audited action concerns.
    """
    CREATE TABLE server_notes (
        guild_id   INTEGER NOT NULL,
        note_id    TEXT NOT NULL,
        markdown   TEXT NOT NULL,
        updated_by INTEGER NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (guild_id, note_id)
    );
    CREATE TABLE server_hidden (
        guild_id  INTEGER NOT NULL,
        note_id   TEXT NOT NULL,
        hidden_by INTEGER NOT NULL,
        hidden_at TEXT NOT NULL,
        PRIMARY KEY (guild_id, note_id)
    );
    ALTER TABLE audit_log ADD COLUMN note_id TEXT;
    """,
    # 5: privacy (its SQL is in bot/privacy/store.py; the gap report's in bot/insights/gap_queries.py): when the bot
    # was removed from a server (its data is deleted after a grace period unless the bot is added back first), and
    # indexes for the retention purge (by time, across servers) and for feedback by question.
    """
    CREATE TABLE guild_departures (
        guild_id   INTEGER PRIMARY KEY,
        removed_at TEXT NOT NULL
    );
    CREATE INDEX question_log_at ON question_log (at);
    CREATE INDEX answer_feedback_at ON answer_feedback (at);
    CREATE INDEX answer_feedback_question ON answer_feedback (guild_id, question_id);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def to_db_time(moment: datetime) -> str:
    """An aware datetime as the fixed-width UTC text stored in the database."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime (UTC)")
    return moment.astimezone(UTC).strftime(_TS_FORMAT)


def from_db_time(text: str | None) -> datetime | None:
    """Stored text back to an aware UTC datetime."""
    return None if text is None else datetime.strptime(text, _TS_FORMAT).replace(tzinfo=UTC)


def _time(text: str) -> datetime:
    moment = from_db_time(text)
    assert moment is not None
    return moment


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


class Store:
    """The study database. Open with `await Store.open(path)`; close with `await store.close()`."""

    def __init__(self, db: aiosqlite.Connection, path: Path):
        self._db = db
        self._lock = asyncio.Lock()
        self.path = path

    # --- lifecycle -------------------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path | str, migrations: Sequence[str] = MIGRATIONS) -> Store:
        """Open (creating folders and file as needed) and migrate to the latest schema.

        `migrations` exists for tests that need a database at an earlier version.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA foreign_keys = ON")
            await _migrate(db, migrations)
        except BaseException:
            await db.close()
            raise
        return cls(db, path)

    async def close(self) -> None:
        """Close the connection (waits for a running operation)."""
        async with self._lock:
            await self._db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def schema_version(self) -> int:
        """The number of migrations applied."""
        async with self._lock:
            return await _user_version(self._db)

    async def pragma(self, name: str) -> Any:
        """Read one PRAGMA (diagnostics and tests)."""
        if not name.isidentifier():
            raise ValueError(name)
        async with self._lock:
            row = await (await self._db.execute(f"PRAGMA {name}")).fetchone()
            return row[0] if row else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction: commit on success, roll back everything on any exception.

        The services never need this; it is here for the Store's own methods and for tests.
        """
        async with self._lock:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                await self._db.execute("COMMIT")
            except BaseException:
                # Shielded: even a cancelled task must not leave the shared connection inside a transaction.
                await asyncio.shield(self._end("ROLLBACK"))
                raise

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[aiosqlite.Connection]:
        """A consistent snapshot for reads of several statements."""
        async with self._lock:
            try:
                await self._db.execute("BEGIN")
                yield self._db
            finally:
                await asyncio.shield(self._end("COMMIT"))

    read = _read  # for feature modules that keep their SQL together elsewhere (bot/curation/store.py)

    async def _end(self, statement: str) -> None:
        """End the open transaction. Queued behind any statement still running (even of a cancelled task);
        a no-op when there is no transaction (BEGIN itself failed, or SQLite already rolled back)."""
        try:
            await self._db.execute(statement)
        except sqlite3.OperationalError as exc:
            if "no transaction is active" not in str(exc):
                raise

    # --- guild settings, timezones and the audit log -----------------------------------------------------

    async def guild_config(self, guild_id: int) -> GuildConfig:
        """The server's settings (defaults when it never set any)."""
        async with self._read() as db:
            row = await _one(db, "SELECT moderator_role_id FROM guild_settings WHERE guild_id = ?", guild_id)
            channels = await _all(db, "SELECT channel_id FROM study_channels WHERE guild_id = ?", guild_id)
        return GuildConfig(guild_id, frozenset(r[0] for r in channels), row[0] if row else None)

    async def set_moderator_role(self, guild_id: int, role_id: int | None, at: datetime, audit: Audit) -> None:
        """Set (or clear) the moderator role, audited."""
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO guild_settings (guild_id, moderator_role_id, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (guild_id) DO UPDATE SET moderator_role_id = excluded.moderator_role_id, "
                "updated_at = excluded.updated_at",
                (guild_id, role_id, to_db_time(at)),
            )
            await _audit(db, guild_id, audit, at)

    async def set_study_channel(self, guild_id: int, channel_id: int, enabled: bool, at: datetime,
                                audit: Audit) -> bool:
        """Add or remove a study channel, audited; False when nothing changed."""
        async with self.transaction() as db:
            if enabled:
                cur = await db.execute(
                    "INSERT INTO study_channels (guild_id, channel_id, added_at) VALUES (?, ?, ?) "
                    "ON CONFLICT DO NOTHING", (guild_id, channel_id, to_db_time(at)))
            else:
                cur = await db.execute("DELETE FROM study_channels WHERE guild_id = ? AND channel_id = ?",
                                       (guild_id, channel_id))
            if cur.rowcount:
                await _audit(db, guild_id, audit, at)
            return cur.rowcount > 0

    async def add_audit(self, guild_id: int, audit: Audit, at: datetime) -> None:
        """Record a moderator action that changed nothing else in this database."""
        async with self.transaction() as db:
            await _audit(db, guild_id, audit, at)

    async def audit_log(self, guild_id: int, limit: int = 20) -> list[AuditEntry]:
        """The server's latest moderator actions, newest first."""
        async with self._read() as db:
            rows = await _all(db, "SELECT * FROM audit_log WHERE guild_id = ? ORDER BY id DESC LIMIT ?",
                              guild_id, limit)
        return [AuditEntry(r["id"], r["guild_id"], r["actor_id"], r["action"], r["detail"], _time(r["at"]))
                for r in rows]

    async def timezone(self, user_id: int) -> str | None:
        """The user's IANA timezone name, if they set one."""
        async with self._read() as db:
            row = await _one(db, "SELECT timezone FROM user_settings WHERE user_id = ?", user_id)
        return row[0] if row else None

    async def set_timezone(self, user_id: int, timezone: str | None, at: datetime) -> None:
        """Set (or clear) the user's timezone."""
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO user_settings (user_id, timezone, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET timezone = excluded.timezone, updated_at = excluded.updated_at",
                (user_id, timezone, to_db_time(at)),
            )

    # --- questions and feedback ----------------------------------------------------------------------------

    async def log_question(self, guild_id: int, user_id: int, question: str, answered: bool,
                           best_note_id: str | None, at: datetime, local_day: str) -> int:
        """Log a question (and, when answered, an 'asked' study event for its best note); returns its id."""
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO question_log (guild_id, user_id, question, answered, best_note_id, at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (guild_id, user_id, question, int(answered), best_note_id, to_db_time(at)),
            )
            question_id = cur.lastrowid
            if answered and best_note_id:
                await _event(db, guild_id, user_id, best_note_id, "asked", at, local_day)
            assert question_id is not None
            return question_id

    async def add_feedback(self, guild_id: int, question_id: int, user_id: int, helpful: bool,
                           reason: str | None, at: datetime) -> bool:
        """Record (or change) a user's verdict on a logged answer; False when the question is unknown here."""
        async with self.transaction() as db:
            row = await _one(db, "SELECT question, best_note_id FROM question_log WHERE guild_id = ? AND id = ?",
                             guild_id, question_id)
            if row is None:
                return False
            await db.execute(
                "INSERT INTO answer_feedback (guild_id, question_id, user_id, question, note_id, helpful, reason, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (question_id, user_id) DO UPDATE SET "
                "helpful = excluded.helpful, reason = excluded.reason, at = excluded.at",
                (guild_id, question_id, user_id, row[0], row[1], int(helpful), reason, to_db_time(at)),
            )
            return True

    async def question_stats(self, guild_id: int, since: datetime | None) -> QuestionStats:
        """Counts of questions and feedback in a server since a moment (or ever)."""
        start = to_db_time(since) if since else ""
        async with self._read() as db:
            q = await _one(db, "SELECT COUNT(*), COALESCE(SUM(answered), 0) FROM question_log "
                               "WHERE guild_id = ? AND at >= ?", guild_id, start)
            f = await _one(db, "SELECT COALESCE(SUM(helpful), 0), COALESCE(SUM(1 - helpful), 0) "
                               "FROM answer_feedback WHERE guild_id = ? AND at >= ?", guild_id, start)
        assert q is not None and f is not None
        return QuestionStats(total=q[0], answered=q[1], unanswered=q[0] - q[1], helpful=f[0], not_helpful=f[1],
                             since=since)

    # --- groups ------------------------------------------------------------------------------------------------

    async def create_group(self, guild_id: int, name: str, topic: str | None, channel_id: int | None,
                           owner_id: int, at: datetime) -> Group | None:
        """Create a group with its owner as first member; None when an active group has that name."""
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO study_groups (guild_id, name, name_key, topic, channel_id, owner_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                (guild_id, name, name_key(name), topic, channel_id, owner_id, to_db_time(at)),
            )
            row = await cur.fetchone()
            if row is None:
                return None
            await db.execute("INSERT INTO group_members (guild_id, group_id, user_id, joined_at) VALUES (?, ?, ?, ?)",
                             (guild_id, row[0], owner_id, to_db_time(at)))
            return await _group(db, guild_id, "g.id = ?", row[0])

    async def group_by_name(self, guild_id: int, name: str) -> Group | None:
        """The active group with this name (case-insensitive)."""
        async with self._read() as db:
            return await _group(db, guild_id, "g.name_key = ? AND g.archived = 0", name_key(name))

    async def group_by_id(self, guild_id: int, group_id: int) -> Group | None:
        """A group of this server by id, archived or not."""
        async with self._read() as db:
            return await _group(db, guild_id, "g.id = ?", group_id)

    async def groups(self, guild_id: int, member_id: int | None = None,
                     include_archived: bool = False) -> list[Group]:
        """The server's groups by name, optionally only those a user belongs to."""
        where, args = ["g.guild_id = ?"], [guild_id]
        if not include_archived:
            where.append("g.archived = 0")
        if member_id is not None:
            where.append("EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND m.user_id = ?)")
            args.append(member_id)
        async with self._read() as db:
            rows = await _all(db, f"{_GROUP_SELECT} WHERE {' AND '.join(where)} ORDER BY g.name_key, g.id", *args)
        return [_group_row(r) for r in rows]

    async def count_owned_groups(self, guild_id: int, owner_id: int) -> int:
        """How many active groups this user owns here."""
        async with self._read() as db:
            row = await _one(db, "SELECT COUNT(*) FROM study_groups WHERE guild_id = ? AND owner_id = ? "
                                 "AND archived = 0", guild_id, owner_id)
        return row[0] if row else 0

    async def members(self, guild_id: int, group_id: int) -> tuple[int, ...]:
        """Member ids in joining order."""
        async with self._read() as db:
            rows = await _all(db, "SELECT user_id FROM group_members WHERE guild_id = ? AND group_id = ? "
                                  "ORDER BY joined_at, user_id", guild_id, group_id)
        return tuple(r[0] for r in rows)

    async def add_member(self, guild_id: int, group_id: int, user_id: int, at: datetime) -> bool:
        """Add a member; False when already one."""
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO group_members (guild_id, group_id, user_id, joined_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING", (guild_id, group_id, user_id, to_db_time(at)))
            return cur.rowcount > 0

    async def remove_member(self, guild_id: int, group_id: int, user_id: int, at: datetime,
                            audit: Audit | None = None) -> bool:
        """Remove a member (audited when a moderator does it); False when not a member."""
        async with self.transaction() as db:
            cur = await db.execute("DELETE FROM group_members WHERE guild_id = ? AND group_id = ? AND user_id = ?",
                                   (guild_id, group_id, user_id))
            if cur.rowcount and audit:
                await _audit(db, guild_id, audit, at)
            return cur.rowcount > 0

    async def rename_group(self, guild_id: int, group_id: int, new_name: str, at: datetime,
                           audit: Audit | None = None) -> bool:
        """Rename; False when another active group already has the name."""
        async with self.transaction() as db:
            try:
                await db.execute("UPDATE study_groups SET name = ?, name_key = ? WHERE guild_id = ? AND id = ?",
                                 (new_name, name_key(new_name), guild_id, group_id))
            except sqlite3.IntegrityError:
                return False
            if audit:
                await _audit(db, guild_id, audit, at)
            return True

    async def archive_group(self, guild_id: int, group_id: int, at: datetime, audit: Audit | None = None) -> int:
        """Archive a group and cancel its scheduled sessions; returns how many sessions were cancelled."""
        async with self.transaction() as db:
            await db.execute("UPDATE study_groups SET archived = 1 WHERE guild_id = ? AND id = ?", (guild_id, group_id))
            cur = await db.execute("UPDATE study_sessions SET status = 'cancelled' WHERE guild_id = ? "
                                   "AND group_id = ? AND status = 'scheduled'", (guild_id, group_id))
            if audit:
                await _audit(db, guild_id, audit, at)
            return cur.rowcount

    # --- sessions ------------------------------------------------------------------------------------------

    async def add_session(self, guild_id: int, group_id: int, starts_at: datetime, remind_at: datetime,
                          topic: str | None, created_by: int, at: datetime) -> Session:
        """Schedule a session."""
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO study_sessions (guild_id, group_id, starts_at, remind_at, topic, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (guild_id, group_id, to_db_time(starts_at), to_db_time(remind_at), topic, created_by, to_db_time(at)),
            )
            session = await _session(db, guild_id, cur.lastrowid)
        assert session is not None
        return session

    async def session(self, guild_id: int, session_id: int) -> Session | None:
        """One session of this server."""
        async with self._read() as db:
            return await _session(db, guild_id, session_id)

    async def sessions(self, guild_id: int, after: datetime, group_id: int | None = None,
                       limit: int = 25) -> list[Session]:
        """Scheduled sessions starting at or after `after`, soonest first."""
        where, args = "s.guild_id = ? AND s.status = 'scheduled' AND s.starts_at >= ?", [guild_id, to_db_time(after)]
        if group_id is not None:
            where += " AND s.group_id = ?"
            args.append(group_id)
        async with self._read() as db:
            rows = await _all(db, f"{_SESSION_SELECT} WHERE {where} ORDER BY s.starts_at, s.id LIMIT ?", *args, limit)
        return [_session_row(r) for r in rows]

    async def cancel_session(self, guild_id: int, session_id: int, at: datetime, audit: Audit | None = None) -> bool:
        """Cancel a scheduled session; False when it was not scheduled."""
        async with self.transaction() as db:
            cur = await db.execute("UPDATE study_sessions SET status = 'cancelled' WHERE guild_id = ? AND id = ? "
                                   "AND status = 'scheduled'", (guild_id, session_id))
            if cur.rowcount and audit:
                await _audit(db, guild_id, audit, at)
            return cur.rowcount > 0

    async def claim_due_reminders(self, now: datetime,
                                  done_before: datetime) -> list[tuple[Session, int | None, tuple[int, ...]]]:
        """Mark every due, unsent reminder as sent and return it with its channel and members: exactly once.

        Sessions that started before `done_before` become 'done' first (their reminder is no use any more).
        The claim is one UPDATE in a write transaction, so two loops (or two processes) never both get one.
        """
        async with self.transaction() as db:
            await db.execute("UPDATE study_sessions SET status = 'done' WHERE status = 'scheduled' AND starts_at < ?",
                             (to_db_time(done_before),))
            claimed = await _all(
                db,
                "UPDATE study_sessions SET reminder_sent_at = ? WHERE status = 'scheduled' "
                "AND reminder_sent_at IS NULL AND remind_at <= ? "
                "AND group_id IN (SELECT id FROM study_groups WHERE archived = 0) RETURNING id, guild_id",
                to_db_time(now), to_db_time(now),
            )
            out = []
            for row in sorted(claimed, key=lambda r: r[0]):
                session = await _session(db, row["guild_id"], row["id"])
                assert session is not None
                group = await _one(db, "SELECT channel_id FROM study_groups WHERE id = ?", session.group_id)
                members = await _all(db, "SELECT user_id FROM group_members WHERE group_id = ? "
                                         "ORDER BY joined_at, user_id", session.group_id)
                out.append((session, group[0] if group else None, tuple(m[0] for m in members)))
        return sorted(out, key=lambda t: (t[0].remind_at, t[0].id))

    async def release_reminder(self, guild_id: int, session_id: int) -> bool:
        """Un-claim a reminder that could not be delivered, so the next pass retries it."""
        async with self.transaction() as db:
            cur = await db.execute("UPDATE study_sessions SET reminder_sent_at = NULL WHERE guild_id = ? AND id = ? "
                                   "AND status = 'scheduled'", (guild_id, session_id))
            return cur.rowcount > 0

    # --- quiz runs and attempts --------------------------------------------------------------------------------

    async def create_run(self, guild_id: int, kind: RunKind, started_by: int, scope: str | None,
                         channel_id: int | None, seed: int, questions: Sequence[tuple[str, int, str]],
                         at: datetime) -> RunRecord:
        """Persist a quiz run and its questions ((note_id, item_index, question text), in order)."""
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO quiz_runs (guild_id, kind, started_by, scope, channel_id, seed, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (guild_id, kind, started_by, scope, channel_id, seed, to_db_time(at)),
            )
            run_id = cur.lastrowid
            await db.executemany(
                "INSERT INTO quiz_run_questions (run_id, position, note_id, item_index, question) "
                "VALUES (?, ?, ?, ?, ?)",
                [(run_id, pos, note_id, index, text) for pos, (note_id, index, text) in enumerate(questions)],
            )
            run = await _run(db, guild_id, run_id)
        assert run is not None
        return run

    async def run(self, guild_id: int, run_id: int) -> RunRecord | None:
        """A persisted run of this server, with its questions."""
        async with self._read() as db:
            return await _run(db, guild_id, run_id)

    async def finish_run(self, guild_id: int, run_id: int, at: datetime) -> bool:
        """Close a run to new answers; False when it was already finished."""
        async with self.transaction() as db:
            cur = await db.execute("UPDATE quiz_runs SET status = 'finished', finished_at = ? WHERE guild_id = ? "
                                   "AND id = ? AND status = 'open'", (to_db_time(at), guild_id, run_id))
            return cur.rowcount > 0

    async def run_attempts(self, guild_id: int, run_id: int, user_id: int | None = None) -> list[Attempt]:
        """Answers recorded in a run (optionally one user's), in the order they arrived."""
        where, args = "guild_id = ? AND run_id = ?", [guild_id, run_id]
        if user_id is not None:
            where += " AND user_id = ?"
            args.append(user_id)
        async with self._read() as db:
            rows = await _all(db, f"SELECT * FROM quiz_attempts WHERE {where} ORDER BY id", *args)
        return [_attempt_row(r) for r in rows]

    async def record_answer(self, guild_id: int, run_id: int, user_id: int, note_id: str, item_index: int,
                            chosen: int, correct: bool, at: datetime, local_day: str,
                            schedule: Callable[[CardState | None], CardState]) -> tuple[Attempt, bool]:
        """Record an answer, update its review card and progress, all in one transaction.

        Returns (the attempt, True) when new; (the first recorded attempt, False) when the user had already
        answered this question of this run, in which case nothing changes.
        `schedule` maps the card's current state (None when new) to its next one.
        """
        async with self.transaction() as db:
            row = await _one(
                db,
                "INSERT INTO quiz_attempts (guild_id, run_id, user_id, note_id, item_index, chosen, correct, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, user_id, note_id, item_index) DO NOTHING "
                "RETURNING *",
                guild_id, run_id, user_id, note_id, item_index, chosen, int(correct), to_db_time(at),
            )
            if row is None:
                existing = await _one(db, "SELECT * FROM quiz_attempts WHERE guild_id = ? AND run_id = ? AND "
                                          "user_id = ? AND note_id = ? AND item_index = ?",
                                      guild_id, run_id, user_id, note_id, item_index)
                assert existing is not None
                return _attempt_row(existing), False
            attempt = _attempt_row(row)
            card = await _card(db, guild_id, user_id, note_id, item_index)
            await _put_card(db, guild_id, user_id, note_id, item_index, schedule(card), at)
            await _event(db, guild_id, user_id, note_id, "quizzed", at, local_day)
            return attempt, True

    async def attempts(self, guild_id: int, user_id: int | None = None, since: datetime | None = None,
                       group_id: int | None = None) -> list[Attempt]:
        """Answers in a server, oldest first: of one user, of a group's members, since a moment."""
        where, args = ["a.guild_id = ?"], [guild_id]
        if user_id is not None:
            where.append("a.user_id = ?")
            args.append(user_id)
        if since is not None:
            where.append("a.at >= ?")
            args.append(to_db_time(since))
        if group_id is not None:
            where.append("a.user_id IN (SELECT user_id FROM group_members WHERE guild_id = ? AND group_id = ?)")
            args += [guild_id, group_id]
        async with self._read() as db:
            rows = await _all(db, f"SELECT a.* FROM quiz_attempts a WHERE {' AND '.join(where)} ORDER BY a.id", *args)
        return [_attempt_row(r) for r in rows]

    async def correct_counts(self, guild_id: int, since: datetime | None = None, group_id: int | None = None,
                             limit: int = 10) -> list[tuple[int, int]]:
        """(user_id, correct answers) best first, ties by user id; only users with at least one."""
        where, args = ["guild_id = ?", "correct = 1"], [guild_id]
        if since is not None:
            where.append("at >= ?")
            args.append(to_db_time(since))
        if group_id is not None:
            where.append("user_id IN (SELECT user_id FROM group_members WHERE guild_id = ? AND group_id = ?)")
            args += [guild_id, group_id]
        async with self._read() as db:
            rows = await _all(db, f"SELECT user_id, COUNT(*) AS n FROM quiz_attempts WHERE {' AND '.join(where)} "
                                  "GROUP BY user_id ORDER BY n DESC, user_id LIMIT ?", *args, limit)
        return [(r[0], r[1]) for r in rows]

    # --- review cards ----------------------------------------------------------------------------------------

    async def card(self, guild_id: int, user_id: int, note_id: str, item_index: int) -> CardState | None:
        """One review card."""
        async with self._read() as db:
            return await _card(db, guild_id, user_id, note_id, item_index)

    async def due_cards(self, guild_id: int, user_id: int, now: datetime,
                        limit: int) -> list[tuple[str, int, CardState]]:
        """Cards due at `now`, most overdue first: (note_id, item_index, state)."""
        async with self._read() as db:
            rows = await _all(db, "SELECT * FROM review_cards WHERE guild_id = ? AND user_id = ? AND due_at <= ? "
                                  "ORDER BY due_at, note_id, item_index LIMIT ?",
                              guild_id, user_id, to_db_time(now), limit)
        return [(r["note_id"], r["item_index"], _card_row(r)) for r in rows]

    async def card_counts(self, guild_id: int, user_id: int, now: datetime) -> tuple[int, int, datetime | None]:
        """(due now, total, next due time among cards not yet due)."""
        async with self._read() as db:
            row = await _one(
                db,
                "SELECT COALESCE(SUM(due_at <= ?), 0), COUNT(*), MIN(CASE WHEN due_at > ? THEN due_at END) "
                "FROM review_cards WHERE guild_id = ? AND user_id = ?",
                to_db_time(now), to_db_time(now), guild_id, user_id,
            )
        assert row is not None
        return row[0], row[1], from_db_time(row[2])

    async def record_study(self, guild_id: int, user_id: int, note_id: str, kind: EventKind, at: datetime,
                           local_day: str, new_cards: Iterable[int] = (), due_at: datetime | None = None) -> int:
        """Record a study event (and streak day); optionally add new review cards for the note's items.

        Returns how many cards were added (existing cards are left as they are).
        """
        async with self.transaction() as db:
            await _event(db, guild_id, user_id, note_id, kind, at, local_day)
            added = 0
            for index in new_cards:
                cur = await db.execute(
                    "INSERT INTO review_cards (guild_id, user_id, note_id, item_index, due_at, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (guild_id, user_id, note_id, index, to_db_time(due_at or at), to_db_time(at)),
                )
                added += cur.rowcount
            return added

    async def review_reminder_hour(self, guild_id: int, user_id: int) -> int | None:
        """The local hour of the learner's daily review DM, or None when not opted in."""
        async with self._read() as db:
            row = await _one(db, "SELECT hour FROM review_reminders WHERE guild_id = ? AND user_id = ?",
                             guild_id, user_id)
        return row[0] if row else None

    async def set_review_reminder(self, guild_id: int, user_id: int, hour: int | None) -> None:
        """Opt in at a local hour, or out with None."""
        async with self.transaction() as db:
            if hour is None:
                await db.execute("DELETE FROM review_reminders WHERE guild_id = ? AND user_id = ?", (guild_id, user_id))
            else:
                await db.execute("INSERT INTO review_reminders (guild_id, user_id, hour) VALUES (?, ?, ?) "
                                 "ON CONFLICT (guild_id, user_id) DO UPDATE SET hour = excluded.hour",
                                 (guild_id, user_id, hour))

    async def review_reminder_candidates(self, now: datetime) -> list[ReviewReminderCandidate]:
        """Every opted-in learner with their timezone, last DM day and cards due now."""
        async with self._read() as db:
            rows = await _all(
                db,
                "SELECT r.guild_id, r.user_id, r.hour, r.last_sent_on, u.timezone, "
                "(SELECT COUNT(*) FROM review_cards c WHERE c.guild_id = r.guild_id AND c.user_id = r.user_id "
                "AND c.due_at <= ?) AS due FROM review_reminders r LEFT JOIN user_settings u ON u.user_id = r.user_id "
                "ORDER BY r.guild_id, r.user_id",
                to_db_time(now),
            )
        return [ReviewReminderCandidate(r["guild_id"], r["user_id"], r["hour"], r["timezone"], r["last_sent_on"],
                                        r["due"]) for r in rows]

    async def claim_review_reminder(self, guild_id: int, user_id: int, local_day: str) -> bool:
        """Mark today's DM as sent; True only for the first claim of that day."""
        async with self.transaction() as db:
            cur = await db.execute("UPDATE review_reminders SET last_sent_on = ? WHERE guild_id = ? AND user_id = ? "
                                   "AND (last_sent_on IS NULL OR last_sent_on < ?)",
                                   (local_day, guild_id, user_id, local_day))
            return cur.rowcount > 0

    # --- progress ----------------------------------------------------------------------------------------------

    async def event_counts(self, guild_id: int, user_id: int) -> list[EventCount]:
        """Per note and kind: how often and when last, for one learner."""
        async with self._read() as db:
            rows = await _all(db, "SELECT note_id, kind, COUNT(*) AS n, MAX(at) AS last FROM study_events "
                                  "WHERE guild_id = ? AND user_id = ? GROUP BY note_id, kind ORDER BY note_id, kind",
                              guild_id, user_id)
        return [EventCount(r["note_id"], r["kind"], r["n"], _time(r["last"])) for r in rows]

    async def activity_days(self, guild_id: int, user_id: int) -> list[str]:
        """The local days (YYYY-MM-DD) on which the learner studied, oldest first."""
        async with self._read() as db:
            rows = await _all(db, "SELECT day FROM daily_activity WHERE guild_id = ? AND user_id = ? ORDER BY day",
                              guild_id, user_id)
        return [r[0] for r in rows]

    async def table_counts(self, guild_id: int) -> dict[str, int]:
        """Rows per guild-scoped table for one server (diagnostics and isolation tests)."""
        async with self._read() as db:
            tables = [r[0] for r in await _all(db, "SELECT name FROM sqlite_master WHERE type = 'table' "
                                                   "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
            out = {}
            for table in tables:
                columns = {r[1] for r in await _all(db, f"PRAGMA table_info({table})")}
                if "guild_id" in columns:
                    row = await _one(db, f"SELECT COUNT(*) FROM {table} WHERE guild_id = ?", guild_id)
                    out[table] = row[0] if row else 0
        return out


# --- helpers (module-private: they run inside a Store's lock) -----------------------------------------------------


def name_key(name: str) -> str:
    """The case-insensitive key that makes group names unique per server."""
    return " ".join(name.casefold().split())


async def _user_version(db: aiosqlite.Connection) -> int:
    row = await (await db.execute("PRAGMA user_version")).fetchone()
    return int(row[0]) if row else 0


async def _migrate(db: aiosqlite.Connection, migrations: Sequence[str]) -> None:
    """Apply the missing migrations, each in its own transaction with its version bump."""
    while True:
        await db.execute("BEGIN IMMEDIATE")  # re-read under the write lock: another process may have migrated
        try:
            version = await _user_version(db)
            if version > len(MIGRATIONS):
                raise StudybotError(f"The database {version=} is newer than this studybot ({len(MIGRATIONS)}). "
                                    "Upgrade studybot, or point STUDYBOT_DATABASE at another file.")
            if version >= len(migrations):
                await db.execute("COMMIT")
                return
            for statement in split_statements(migrations[version]):
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")


async def _one(db: aiosqlite.Connection, sql: str, *args: Any) -> sqlite3.Row | None:
    cur = await db.execute(sql, args)
    rows = await cur.fetchall()  # drain: an UPDATE ... RETURNING completes only when stepped to the end
    return rows[0] if rows else None


async def _all(db: aiosqlite.Connection, sql: str, *args: Any) -> list[sqlite3.Row]:
    return list(await (await db.execute(sql, args)).fetchall())


async def _audit(db: aiosqlite.Connection, guild_id: int, audit: Audit, at: datetime) -> None:
    await db.execute("INSERT INTO audit_log (guild_id, actor_id, action, detail, at) VALUES (?, ?, ?, ?, ?)",
                     (guild_id, audit.actor_id, audit.action, audit.detail, to_db_time(at)))


async def _event(db: aiosqlite.Connection, guild_id: int, user_id: int, note_id: str, kind: EventKind,
                 at: datetime, local_day: str) -> None:
    await db.execute("INSERT INTO study_events (guild_id, user_id, note_id, kind, at) VALUES (?, ?, ?, ?, ?)",
                     (guild_id, user_id, note_id, kind, to_db_time(at)))
    await db.execute("INSERT INTO daily_activity (guild_id, user_id, day, events) VALUES (?, ?, ?, 1) "
                     "ON CONFLICT (guild_id, user_id, day) DO UPDATE SET events = events + 1",
                     (guild_id, user_id, local_day))


_GROUP_SELECT = ("SELECT g.*, (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) AS member_count "
                 "FROM study_groups g")


def _group_row(r: sqlite3.Row) -> Group:
    return Group(id=r["id"], guild_id=r["guild_id"], name=r["name"], topic=r["topic"], channel_id=r["channel_id"],
                 owner_id=r["owner_id"], archived=bool(r["archived"]), created_at=_time(r["created_at"]),
                 member_count=r["member_count"])


async def _group(db: aiosqlite.Connection, guild_id: int, where: str, *args: Any) -> Group | None:
    row = await _one(db, f"{_GROUP_SELECT} WHERE g.guild_id = ? AND {where}", guild_id, *args)
    return _group_row(row) if row else None


_SESSION_SELECT = "SELECT s.*, g.name AS group_name FROM study_sessions s JOIN study_groups g ON g.id = s.group_id"


def _session_row(r: sqlite3.Row) -> Session:
    return Session(id=r["id"], guild_id=r["guild_id"], group_id=r["group_id"], group_name=r["group_name"],
                   starts_at=_time(r["starts_at"]), remind_at=_time(r["remind_at"]), topic=r["topic"],
                   created_by=r["created_by"], status=r["status"], reminder_sent_at=from_db_time(r["reminder_sent_at"]))


async def _session(db: aiosqlite.Connection, guild_id: int, session_id: int | None) -> Session | None:
    row = await _one(db, f"{_SESSION_SELECT} WHERE s.guild_id = ? AND s.id = ?", guild_id, session_id)
    return _session_row(row) if row else None


async def _run(db: aiosqlite.Connection, guild_id: int, run_id: int | None) -> RunRecord | None:
    r = await _one(db, "SELECT * FROM quiz_runs WHERE guild_id = ? AND id = ?", guild_id, run_id)
    if r is None:
        return None
    qs = await _all(db, "SELECT * FROM quiz_run_questions WHERE run_id = ? ORDER BY position", run_id)
    return RunRecord(id=r["id"], guild_id=r["guild_id"], kind=r["kind"], started_by=r["started_by"], scope=r["scope"],
                     channel_id=r["channel_id"], seed=r["seed"], status=r["status"], created_at=_time(r["created_at"]),
                     finished_at=from_db_time(r["finished_at"]),
                     questions=tuple(RunQuestion(q["position"], q["note_id"], q["item_index"], q["question"])
                                     for q in qs))


def _attempt_row(r: sqlite3.Row) -> Attempt:
    return Attempt(user_id=r["user_id"], note_id=r["note_id"], item_index=r["item_index"], correct=bool(r["correct"]),
                   chosen=r["chosen"], at=_time(r["at"]), run_id=r["run_id"])


def _card_row(r: sqlite3.Row) -> CardState:
    return CardState(due_at=_time(r["due_at"]), repetitions=r["repetitions"], interval_days=r["interval_days"],
                     ease=r["ease"], lapses=r["lapses"], last_reviewed_at=from_db_time(r["last_reviewed_at"]))


async def _card(db: aiosqlite.Connection, guild_id: int, user_id: int, note_id: str,
                item_index: int) -> CardState | None:
    row = await _one(db, "SELECT * FROM review_cards WHERE guild_id = ? AND user_id = ? AND note_id = ? "
                         "AND item_index = ?", guild_id, user_id, note_id, item_index)
    return _card_row(row) if row else None


async def _put_card(db: aiosqlite.Connection, guild_id: int, user_id: int, note_id: str, item_index: int,
                    state: CardState, at: datetime) -> None:
    await db.execute(
        "INSERT INTO review_cards (guild_id, user_id, note_id, item_index, repetitions, interval_days, ease, lapses, "
        "due_at, last_reviewed_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (guild_id, user_id, note_id, item_index) DO UPDATE SET repetitions = excluded.repetitions, "
        "interval_days = excluded.interval_days, ease = excluded.ease, lapses = excluded.lapses, "
        "due_at = excluded.due_at, last_reviewed_at = excluded.last_reviewed_at",
        (guild_id, user_id, note_id, item_index, state.repetitions, state.interval_days, state.ease, state.lapses,
         to_db_time(state.due_at), to_db_time(state.last_reviewed_at) if state.last_reviewed_at else None,
         to_db_time(at)),
    )
