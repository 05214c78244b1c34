"""The SQL of privacy, kept together: a learner's export and forget-me, the retention purge, departed servers.

Every learner statement is addressed by `(guild_id, user_id)`: an export or a forget-me in one server never reads
or touches another server's rows, nor another learner's. The retention purge is the one statement that spans
servers, and it touches only `question_log` and `answer_feedback`.

Forget-me keeps aggregate counts: a forgotten question stays as an anonymous tally (no text, user id 0), a
forgotten vote keeps only its 👍/👎 (no reason, no question text, `user_id = -row id`, unique and never a real
user). Other learners' votes on a forgotten question stay, without the copy of its text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.study.storage import Store, Tx, from_db_time, to_db_time

FORGOTTEN_USER = 0  # the user id of a forgotten question's tally


@dataclass(frozen=True)
class ForgetCounts:
    """What one forget-me removed, per kind."""

    questions: int
    feedback: int
    quiz_attempts: int
    review_cards: int
    review_reminders: int
    study_events: int
    activity_days: int


@dataclass(frozen=True)
class PurgeCounts:
    """Rows the retention purge deleted."""

    questions: int
    feedback: int


# (table, columns exported, order) of a learner's rows in one server, in export order. The order is the row's
# time, then its own key (the insertion order for tables with an id, which is the same on both backends).
EXPORT_TABLES: tuple[tuple[str, str, str], ...] = (
    ("question_log", "id, question, answered, best_note_id, at", "at, id"),
    ("answer_feedback", "question_id, question, note_id, helpful, reason, at", "at, id"),
    ("quiz_attempts", "run_id, note_id, item_index, chosen, correct, at", "at, id"),
    ("review_cards", "note_id, item_index, repetitions, interval_days, ease, lapses, due_at, last_reviewed_at, "
                     "created_at", "created_at, note_id, item_index"),
    ("review_reminders", "hour, last_sent_on", "hour"),  # one row per learner and server
    ("study_events", "note_id, kind, at", "at, id"),
    ("daily_activity", "day, events", "day"),
)


class PrivacyStore:
    """Learners' data in the study database: export, forget, purge; servers the bot left."""

    def __init__(self, store: Store):
        self._store = store

    # -- a learner ---------------------------------------------------------------------------------------
    async def export(self, guild_id: int, user_id: int) -> dict[str, list[dict[str, Any]]]:
        """Every row of this learner in this server (and their group memberships), per table."""
        out: dict[str, list[dict[str, Any]]] = {}
        async with self._store.read() as tx:
            for table, columns, order in EXPORT_TABLES:
                rows = await tx.fetch(f"SELECT {columns} FROM {table} WHERE guild_id = ? AND user_id = ? "
                                      f"ORDER BY {order}", guild_id, user_id)
                out[table] = [dict(r) for r in rows]
            rows = await tx.fetch("SELECT g.id AS group_id, g.name, "
                                  "CASE WHEN g.owner_id = m.user_id THEN 1 ELSE 0 END AS owner, m.joined_at "
                                  "FROM group_members m JOIN study_groups g ON g.id = m.group_id "
                                  "WHERE m.guild_id = ? AND m.user_id = ? ORDER BY m.joined_at, m.group_id",
                                  guild_id, user_id)
            out["group_members"] = [dict(r) for r in rows]
            rows = await tx.fetch("SELECT timezone FROM user_settings WHERE user_id = ?", user_id)
            out["user_settings"] = [dict(r) for r in rows]
        return out

    async def forget(self, guild_id: int, user_id: int) -> ForgetCounts:
        """Delete the learner's quiz attempts, reviews and progress here; anonymise their questions and votes."""
        async with self._store.transaction() as tx:
            # Others' votes on this learner's questions keep their verdict but lose the copy of the text.
            await tx.execute("UPDATE answer_feedback SET question = '' WHERE guild_id = ? AND question_id IN "
                             "(SELECT id FROM question_log WHERE guild_id = ? AND user_id = ?)",
                             guild_id, guild_id, user_id)
            feedback = await tx.execute("UPDATE answer_feedback SET user_id = -id, reason = NULL, question = '' "
                                        "WHERE guild_id = ? AND user_id = ?", guild_id, user_id)
            questions = await tx.execute("UPDATE question_log SET user_id = ?, question = '' "
                                         "WHERE guild_id = ? AND user_id = ?", FORGOTTEN_USER, guild_id, user_id)
            deleted = {}
            for table in ("quiz_attempts", "review_cards", "review_reminders", "study_events", "daily_activity"):
                deleted[table] = await tx.execute(f"DELETE FROM {table} WHERE guild_id = ? AND user_id = ?",
                                                  guild_id, user_id)
        return ForgetCounts(questions, feedback, deleted["quiz_attempts"], deleted["review_cards"],
                            deleted["review_reminders"], deleted["study_events"], deleted["daily_activity"])

    # -- retention -----------------------------------------------------------------------------------------
    async def purge_before(self, cutoff: datetime) -> PurgeCounts:
        """Delete question-log and feedback rows older than `cutoff`, in every server, and nothing else.

        A question is kept while a vote on it is younger than the cutoff (deleting it would cascade to that vote).
        """
        at = to_db_time(cutoff)
        async with self._store.transaction() as tx:
            feedback = await tx.execute("DELETE FROM answer_feedback WHERE at < ?", at)
            questions = await tx.execute("DELETE FROM question_log WHERE at < ? AND NOT EXISTS (SELECT 1 FROM "
                                         "answer_feedback f WHERE f.guild_id = question_log.guild_id "
                                         "AND f.question_id = question_log.id)", at)
        return PurgeCounts(questions, feedback)

    # -- servers the bot left ----------------------------------------------------------------------------
    async def mark_removed(self, guild_id: int, at: datetime) -> None:
        """Remember when the bot was removed (the first removal counts until it is added back)."""
        async with self._store.transaction() as tx:
            await tx.execute("INSERT INTO guild_departures (guild_id, removed_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                             guild_id, to_db_time(at))

    async def cancel_removal(self, guild_ids: list[int]) -> int:
        """The bot is in these servers (again): forget their removal. Returns how many were pending."""
        if not guild_ids:
            return 0
        cancelled = 0
        async with self._store.transaction() as tx:
            for start in range(0, len(guild_ids), 500):
                part = guild_ids[start:start + 500]
                cancelled += await tx.execute(f"DELETE FROM guild_departures WHERE guild_id IN "
                                              f"({', '.join('?' * len(part))})", *part)
        return cancelled

    async def departures(self) -> dict[int, datetime]:
        """Servers the bot was removed from and when."""
        async with self._store.read() as tx:
            rows = await tx.fetch("SELECT guild_id, removed_at FROM guild_departures ORDER BY guild_id")
        return {r[0]: from_db_time(r[1]) for r in rows}  # type: ignore[misc]

    async def purge_guild(self, guild_id: int, removed_before: datetime) -> dict[str, int]:
        """Delete every row of a server the bot left before `removed_before`; {} when it was not due (or is back).

        The tables are every table with a `guild_id` column, so a table a later migration adds is included; rows
        without one (quiz run questions) go with their parent through ON DELETE CASCADE.
        """
        tables = await self._store.db.tables_with_column("guild_id")
        async with self._store.transaction() as tx:
            if not await _due(tx, guild_id, removed_before):
                return {}
            deleted = {}
            for table in tables:
                n = await tx.execute(f"DELETE FROM {table} WHERE guild_id = ?", guild_id)
                if n:
                    deleted[table] = n
        return deleted


async def _due(tx: Tx, guild_id: int, removed_before: datetime) -> bool:
    return await tx.fetchval("SELECT 1 FROM guild_departures WHERE guild_id = ? AND removed_at < ?",
                             guild_id, to_db_time(removed_before)) is not None
