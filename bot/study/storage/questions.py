"""Queries of the question log and answer feedback."""

from __future__ import annotations

from datetime import datetime

from bot.study.models import QuestionStats
from bot.study.storage.backend import Backend, to_db_time
from bot.study.storage.progress import insert_event


class QuestionQueries:
    db: Backend

    async def log_question(self, guild_id: int, user_id: int, question: str, answered: bool,
                           best_note_id: str | None, at: datetime, local_day: str) -> int:
        """Log a question (and, when answered, an 'asked' study event for its best note); returns its id."""
        async with self.db.transaction() as tx:
            question_id = await tx.fetchval(
                "INSERT INTO question_log (guild_id, user_id, question, answered, best_note_id, at) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                guild_id, user_id, question, int(answered), best_note_id, to_db_time(at),
            )
            if answered and best_note_id:
                await insert_event(tx, guild_id, user_id, best_note_id, "asked", at, local_day)
        assert question_id is not None
        return int(question_id)

    async def add_feedback(self, guild_id: int, question_id: int, user_id: int, helpful: bool,
                           reason: str | None, at: datetime) -> bool:
        """Record (or change) a user's verdict on a logged answer; False when the question is unknown here."""
        async with self.db.transaction() as tx:
            row = await tx.fetchrow("SELECT question, best_note_id FROM question_log WHERE guild_id = ? AND id = ?",
                                    guild_id, question_id)
            if row is None:
                return False
            await tx.execute(
                "INSERT INTO answer_feedback (guild_id, question_id, user_id, question, note_id, helpful, reason, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (question_id, user_id) DO UPDATE SET "
                "helpful = excluded.helpful, reason = excluded.reason, at = excluded.at",
                guild_id, question_id, user_id, row[0], row[1], int(helpful), reason, to_db_time(at),
            )
            return True

    async def question_stats(self, guild_id: int, since: datetime | None) -> QuestionStats:
        """Counts of questions and feedback in a server since a moment (or ever)."""
        start = to_db_time(since) if since else ""
        async with self.db.read() as tx:
            q = await tx.fetchrow("SELECT COUNT(*), COALESCE(SUM(answered), 0) FROM question_log "
                                  "WHERE guild_id = ? AND at >= ?", guild_id, start)
            f = await tx.fetchrow("SELECT COALESCE(SUM(helpful), 0), COALESCE(SUM(1 - helpful), 0) "
                                  "FROM answer_feedback WHERE guild_id = ? AND at >= ?", guild_id, start)
        assert q is not None and f is not None
        return QuestionStats(total=q[0], answered=q[1], unanswered=q[0] - q[1], helpful=f[0], not_helpful=f[1],
                             since=since)
