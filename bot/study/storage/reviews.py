"""Queries of SM-2 review cards and the opt-in daily review reminders."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.study.models import CardState, EventKind, ReviewReminderCandidate
from bot.study.storage.backend import Backend, Row, Tx, db_time, from_db_time, to_db_time
from bot.study.storage.progress import insert_event


def card_row(r: Row) -> CardState:
    return CardState(due_at=db_time(r["due_at"]), repetitions=r["repetitions"], interval_days=r["interval_days"],
                     ease=r["ease"], lapses=r["lapses"], last_reviewed_at=from_db_time(r["last_reviewed_at"]))


async def fetch_card(tx: Tx, guild_id: int, user_id: int, note_id: str, item_index: int) -> CardState | None:
    row = await tx.fetchrow("SELECT * FROM review_cards WHERE guild_id = ? AND user_id = ? AND note_id = ? "
                            "AND item_index = ?", guild_id, user_id, note_id, item_index)
    return card_row(row) if row else None


async def put_card(tx: Tx, guild_id: int, user_id: int, note_id: str, item_index: int, state: CardState,
                   at: datetime) -> None:
    await tx.execute(
        "INSERT INTO review_cards (guild_id, user_id, note_id, item_index, repetitions, interval_days, ease, lapses, "
        "due_at, last_reviewed_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (guild_id, user_id, note_id, item_index) DO UPDATE SET repetitions = excluded.repetitions, "
        "interval_days = excluded.interval_days, ease = excluded.ease, lapses = excluded.lapses, "
        "due_at = excluded.due_at, last_reviewed_at = excluded.last_reviewed_at",
        guild_id, user_id, note_id, item_index, state.repetitions, state.interval_days, state.ease, state.lapses,
        to_db_time(state.due_at), to_db_time(state.last_reviewed_at) if state.last_reviewed_at else None,
        to_db_time(at),
    )


class ReviewQueries:
    db: Backend

    async def card(self, guild_id: int, user_id: int, note_id: str, item_index: int) -> CardState | None:
        """One review card."""
        async with self.db.read() as tx:
            return await fetch_card(tx, guild_id, user_id, note_id, item_index)

    async def due_cards(self, guild_id: int, user_id: int, now: datetime,
                        limit: int) -> list[tuple[str, int, CardState]]:
        """Cards due at `now`, most overdue first: (note_id, item_index, state)."""
        async with self.db.read() as tx:
            rows = await tx.fetch("SELECT * FROM review_cards WHERE guild_id = ? AND user_id = ? AND due_at <= ? "
                                  "ORDER BY due_at, note_id, item_index LIMIT ?",
                                  guild_id, user_id, to_db_time(now), limit)
        return [(r["note_id"], r["item_index"], card_row(r)) for r in rows]

    async def card_counts(self, guild_id: int, user_id: int, now: datetime) -> tuple[int, int, datetime | None]:
        """(due now, total, next due time among cards not yet due)."""
        async with self.db.read() as tx:
            row = await tx.fetchrow(
                "SELECT COALESCE(SUM(CASE WHEN due_at <= ? THEN 1 ELSE 0 END), 0), COUNT(*), "
                "MIN(CASE WHEN due_at > ? THEN due_at END) FROM review_cards WHERE guild_id = ? AND user_id = ?",
                to_db_time(now), to_db_time(now), guild_id, user_id,
            )
        assert row is not None
        return int(row[0]), int(row[1]), from_db_time(row[2])

    async def record_study(self, guild_id: int, user_id: int, note_id: str, kind: EventKind, at: datetime,
                           local_day: str, new_cards: Iterable[int] = (), due_at: datetime | None = None) -> int:
        """Record a study event (and streak day); optionally add new review cards for the note's items.

        Returns how many cards were added (existing cards are left as they are).
        """
        async with self.db.transaction() as tx:
            await insert_event(tx, guild_id, user_id, note_id, kind, at, local_day)
            added = 0
            for index in new_cards:
                added += await tx.execute(
                    "INSERT INTO review_cards (guild_id, user_id, note_id, item_index, due_at, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    guild_id, user_id, note_id, index, to_db_time(due_at or at), to_db_time(at),
                )
            return added

    async def review_reminder_hour(self, guild_id: int, user_id: int) -> int | None:
        """The local hour of the learner's daily review DM, or None when not opted in."""
        async with self.db.read() as tx:
            return await tx.fetchval("SELECT hour FROM review_reminders WHERE guild_id = ? AND user_id = ?",
                                     guild_id, user_id)

    async def set_review_reminder(self, guild_id: int, user_id: int, hour: int | None) -> None:
        """Opt in at a local hour, or out with None."""
        async with self.db.transaction() as tx:
            if hour is None:
                await tx.execute("DELETE FROM review_reminders WHERE guild_id = ? AND user_id = ?", guild_id, user_id)
            else:
                await tx.execute("INSERT INTO review_reminders (guild_id, user_id, hour) VALUES (?, ?, ?) "
                                 "ON CONFLICT (guild_id, user_id) DO UPDATE SET hour = excluded.hour",
                                 guild_id, user_id, hour)

    async def review_reminder_candidates(self, now: datetime) -> list[ReviewReminderCandidate]:
        """Every opted-in learner with their timezone, last DM day and cards due now."""
        async with self.db.read() as tx:
            rows = await tx.fetch(
                "SELECT r.guild_id, r.user_id, r.hour, r.last_sent_on, u.timezone, "
                "(SELECT COUNT(*) FROM review_cards c WHERE c.guild_id = r.guild_id AND c.user_id = r.user_id "
                "AND c.due_at <= ?) AS due FROM review_reminders r LEFT JOIN user_settings u ON u.user_id = r.user_id "
                "ORDER BY r.guild_id, r.user_id",
                to_db_time(now),
            )
        return [ReviewReminderCandidate(r["guild_id"], r["user_id"], r["hour"], r["timezone"], r["last_sent_on"],
                                        r["due"]) for r in rows]

    async def claim_review_reminder(self, guild_id: int, user_id: int, local_day: str) -> bool:
        """Mark today's DM as sent; True only for the first claim of that day (in any process)."""
        async with self.db.transaction() as tx:
            return await tx.execute("UPDATE review_reminders SET last_sent_on = ? WHERE guild_id = ? AND user_id = ? "
                                    "AND (last_sent_on IS NULL OR last_sent_on < ?)",
                                    local_day, guild_id, user_id, local_day) > 0
