"""Queries of scheduled study sessions and the claim of their reminders.

A due reminder is claimed with a lease (`claimed_by`, `claim_expires_at`) and marked sent only once it was
posted. Claims pick rows with `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite's write lock serialises
them), so two processes never hold one reminder at once; a process that dies mid-send loses nothing: its
lease runs out and the next pass (by whichever process owns the guild's shard) claims it again. Posting is
made idempotent by the caller (a Discord message nonce per session), so at-least-once delivery shows once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.study.models import Audit, Session, ShardScope
from bot.study.storage.admin import insert_audit
from bot.study.storage.backend import Backend, Row, Tx, db_time, from_db_time, to_db_time

SESSION_SELECT = "SELECT s.*, g.name AS group_name FROM study_sessions s JOIN study_groups g ON g.id = s.group_id"
Claimed = tuple[Session, int | None, tuple[int, ...]]


def session_row(r: Row) -> Session:
    return Session(id=r["id"], guild_id=r["guild_id"], group_id=r["group_id"], group_name=r["group_name"],
                   starts_at=db_time(r["starts_at"]), remind_at=db_time(r["remind_at"]), topic=r["topic"],
                   created_by=r["created_by"], status=r["status"], reminder_sent_at=from_db_time(r["reminder_sent_at"]))


async def fetch_session(tx: Tx, guild_id: int, session_id: int) -> Session | None:
    row = await tx.fetchrow(f"{SESSION_SELECT} WHERE s.guild_id = ? AND s.id = ?", guild_id, session_id)
    return session_row(row) if row else None


def shard_filter(shards: ShardScope | None, column: str = "guild_id") -> tuple[str, list[Any]]:
    """A WHERE fragment keeping the guilds of these shards (Discord's rule), and its arguments."""
    if shards is None:
        return "", []
    ids = sorted(shards.shard_ids)
    marks = ", ".join("?" for _ in ids)
    return f" AND (({column} >> 22) % ?) IN ({marks})", [shards.shard_count, *ids]


class SessionQueries:
    db: Backend

    async def add_session(self, guild_id: int, group_id: int, starts_at: datetime, remind_at: datetime,
                          topic: str | None, created_by: int, at: datetime) -> Session:
        """Schedule a session."""
        async with self.db.transaction() as tx:
            session_id = await tx.fetchval(
                "INSERT INTO study_sessions (guild_id, group_id, starts_at, remind_at, topic, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                guild_id, group_id, to_db_time(starts_at), to_db_time(remind_at), topic, created_by, to_db_time(at),
            )
            session = await fetch_session(tx, guild_id, session_id)
        assert session is not None
        return session

    async def session(self, guild_id: int, session_id: int) -> Session | None:
        """One session of this server."""
        async with self.db.read() as tx:
            return await fetch_session(tx, guild_id, session_id)

    async def sessions(self, guild_id: int, after: datetime, group_id: int | None = None,
                       limit: int = 25) -> list[Session]:
        """Scheduled sessions starting at or after `after`, soonest first."""
        where, args = "s.guild_id = ? AND s.status = 'scheduled' AND s.starts_at >= ?", [guild_id, to_db_time(after)]
        if group_id is not None:
            where += " AND s.group_id = ?"
            args.append(group_id)
        async with self.db.read() as tx:
            rows = await tx.fetch(f"{SESSION_SELECT} WHERE {where} ORDER BY s.starts_at, s.id LIMIT ?", *args, limit)
        return [session_row(r) for r in rows]

    async def cancel_session(self, guild_id: int, session_id: int, at: datetime, audit: Audit | None = None) -> bool:
        """Cancel a scheduled session; False when it was not scheduled."""
        async with self.db.transaction() as tx:
            cancelled = await tx.execute("UPDATE study_sessions SET status = 'cancelled' WHERE guild_id = ? AND id = ? "
                                         "AND status = 'scheduled'", guild_id, session_id)
            if cancelled and audit:
                await insert_audit(tx, guild_id, audit, at)
            return cancelled > 0

    async def claim_due_reminders(self, now: datetime, done_before: datetime, claimant: str = "",
                                  lease: timedelta = timedelta(minutes=2), shards: ShardScope | None = None,
                                  limit: int = 100) -> list[Claimed]:
        """Claim the due, unsent, unclaimed (or lease-expired) reminders of these shards, each by one process.

        Sessions that started before `done_before` become 'done' first (their reminder is no use any more).
        Returns (session, channel, members), by due time.
        """
        shard_sql, shard_args = shard_filter(shards)
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE study_sessions SET status = 'done' WHERE status = 'scheduled' AND starts_at < ?"
                             + shard_sql, to_db_time(done_before), *shard_args)
            due = await tx.fetch(
                "SELECT id, guild_id FROM study_sessions WHERE status = 'scheduled' AND reminder_sent_at IS NULL "
                "AND remind_at <= ? AND (claim_expires_at IS NULL OR claim_expires_at <= ?) "
                f"AND group_id IN (SELECT id FROM study_groups WHERE archived = 0){shard_sql} "
                f"ORDER BY remind_at, id LIMIT ?{tx.skip_locked}",
                to_db_time(now), to_db_time(now), *shard_args, limit,
            )
            out = []
            for row in due:
                await tx.execute("UPDATE study_sessions SET claimed_by = ?, claim_expires_at = ? WHERE id = ?",
                                 claimant, to_db_time(now + lease), row["id"])
                session = await fetch_session(tx, row["guild_id"], row["id"])
                assert session is not None
                channel = await tx.fetchval("SELECT channel_id FROM study_groups WHERE id = ?", session.group_id)
                members = await tx.fetch("SELECT user_id FROM group_members WHERE group_id = ? "
                                         "ORDER BY joined_at, user_id", session.group_id)
                out.append((session, channel, tuple(m[0] for m in members)))
        return out

    async def mark_reminder_sent(self, guild_id: int, session_id: int, at: datetime) -> bool:
        """Record that a claimed reminder was posted: no process claims it again."""
        async with self.db.transaction() as tx:
            return await tx.execute("UPDATE study_sessions SET reminder_sent_at = ?, claimed_by = NULL, "
                                    "claim_expires_at = NULL WHERE guild_id = ? AND id = ? "
                                    "AND reminder_sent_at IS NULL", to_db_time(at), guild_id, session_id) > 0

    async def release_reminder(self, guild_id: int, session_id: int) -> bool:
        """Un-claim a reminder that could not be delivered, so the next pass retries it."""
        async with self.db.transaction() as tx:
            return await tx.execute("UPDATE study_sessions SET reminder_sent_at = NULL, claimed_by = NULL, "
                                    "claim_expires_at = NULL WHERE guild_id = ? AND id = ? "
                                    "AND status = 'scheduled'", guild_id, session_id) > 0
