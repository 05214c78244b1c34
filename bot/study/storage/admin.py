"""Queries of server settings, study channels, timezones and the moderators' audit log."""

from __future__ import annotations

from datetime import datetime

from bot.study.models import Audit, AuditEntry, GuildConfig
from bot.study.storage.backend import Backend, Tx, db_time, to_db_time


async def insert_audit(tx: Tx, guild_id: int, audit: Audit, at: datetime) -> None:
    """File a moderator action in the transaction that made the change."""
    await tx.execute("INSERT INTO audit_log (guild_id, actor_id, action, detail, at) VALUES (?, ?, ?, ?, ?)",
                     guild_id, audit.actor_id, audit.action, audit.detail, to_db_time(at))


class AdminQueries:
    db: Backend

    async def guild_config(self, guild_id: int) -> GuildConfig:
        """The server's settings (defaults when it never set any)."""
        async with self.db.read() as tx:
            role = await tx.fetchval("SELECT moderator_role_id FROM guild_settings WHERE guild_id = ?", guild_id)
            channels = await tx.fetch("SELECT channel_id FROM study_channels WHERE guild_id = ?", guild_id)
        return GuildConfig(guild_id, frozenset(r[0] for r in channels), role)

    async def set_moderator_role(self, guild_id: int, role_id: int | None, at: datetime, audit: Audit) -> None:
        """Set (or clear) the moderator role, audited."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO guild_settings (guild_id, moderator_role_id, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (guild_id) DO UPDATE SET moderator_role_id = excluded.moderator_role_id, "
                "updated_at = excluded.updated_at",
                guild_id, role_id, to_db_time(at),
            )
            await insert_audit(tx, guild_id, audit, at)

    async def set_study_channel(self, guild_id: int, channel_id: int, enabled: bool, at: datetime,
                                audit: Audit) -> bool:
        """Add or remove a study channel, audited; False when nothing changed."""
        async with self.db.transaction() as tx:
            if enabled:
                changed = await tx.execute("INSERT INTO study_channels (guild_id, channel_id, added_at) "
                                           "VALUES (?, ?, ?) ON CONFLICT DO NOTHING", guild_id, channel_id,
                                           to_db_time(at))
            else:
                changed = await tx.execute("DELETE FROM study_channels WHERE guild_id = ? AND channel_id = ?",
                                           guild_id, channel_id)
            if changed:
                await insert_audit(tx, guild_id, audit, at)
            return changed > 0

    async def add_audit(self, guild_id: int, audit: Audit, at: datetime) -> None:
        """Record a moderator action that changed nothing else in this database."""
        async with self.db.transaction() as tx:
            await insert_audit(tx, guild_id, audit, at)

    async def audit_log(self, guild_id: int, limit: int = 20) -> list[AuditEntry]:
        """The server's latest moderator actions, newest first."""
        async with self.db.read() as tx:
            rows = await tx.fetch("SELECT * FROM audit_log WHERE guild_id = ? ORDER BY id DESC LIMIT ?",
                                  guild_id, limit)
        return [AuditEntry(r["id"], r["guild_id"], r["actor_id"], r["action"], r["detail"], db_time(r["at"]))
                for r in rows]

    async def timezone(self, user_id: int) -> str | None:
        """The user's IANA timezone name, if they set one."""
        async with self.db.read() as tx:
            return await tx.fetchval("SELECT timezone FROM user_settings WHERE user_id = ?", user_id)

    async def set_timezone(self, user_id: int, timezone: str | None, at: datetime) -> None:
        """Set (or clear) the user's timezone."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO user_settings (user_id, timezone, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET timezone = excluded.timezone, updated_at = excluded.updated_at",
                user_id, timezone, to_db_time(at),
            )
