"""Queries of study events and the daily activity behind streaks."""

from __future__ import annotations

from datetime import datetime

from bot.study.models import EventCount, EventKind
from bot.study.storage.backend import Backend, Tx, db_time, to_db_time


async def insert_event(tx: Tx, guild_id: int, user_id: int, note_id: str, kind: EventKind, at: datetime,
                       local_day: str) -> None:
    """A study event and its streak day, counted atomically (two processes adding to one day both count)."""
    await tx.execute("INSERT INTO study_events (guild_id, user_id, note_id, kind, at) VALUES (?, ?, ?, ?, ?)",
                     guild_id, user_id, note_id, kind, to_db_time(at))
    await tx.execute("INSERT INTO daily_activity (guild_id, user_id, day, events) VALUES (?, ?, ?, 1) "
                     "ON CONFLICT (guild_id, user_id, day) DO UPDATE SET events = daily_activity.events + 1",
                     guild_id, user_id, local_day)


class ProgressQueries:
    db: Backend

    async def event_counts(self, guild_id: int, user_id: int) -> list[EventCount]:
        """Per note and kind: how often and when last, for one learner."""
        async with self.db.read() as tx:
            rows = await tx.fetch("SELECT note_id, kind, COUNT(*) AS n, MAX(at) AS last FROM study_events "
                                  "WHERE guild_id = ? AND user_id = ? GROUP BY note_id, kind ORDER BY note_id, kind",
                                  guild_id, user_id)
        return [EventCount(r["note_id"], r["kind"], r["n"], db_time(r["last"])) for r in rows]

    async def activity_days(self, guild_id: int, user_id: int) -> list[str]:
        """The local days (YYYY-MM-DD) on which the learner studied, oldest first."""
        async with self.db.read() as tx:
            rows = await tx.fetch("SELECT day FROM daily_activity WHERE guild_id = ? AND user_id = ? ORDER BY day",
                                  guild_id, user_id)
        return [r[0] for r in rows]
