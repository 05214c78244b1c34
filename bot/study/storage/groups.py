"""Queries of study groups and their members."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.study.models import Audit, Group
from bot.study.storage.admin import insert_audit
from bot.study.storage.backend import Backend, IntegrityError, Row, Tx, db_time, to_db_time

GROUP_SELECT = ("SELECT g.*, (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) AS member_count "
                "FROM study_groups g")


def name_key(name: str) -> str:
    """The case-insensitive key that makes group names unique per server."""
    return " ".join(name.casefold().split())


def group_row(r: Row) -> Group:
    return Group(id=r["id"], guild_id=r["guild_id"], name=r["name"], topic=r["topic"], channel_id=r["channel_id"],
                 owner_id=r["owner_id"], archived=bool(r["archived"]), created_at=db_time(r["created_at"]),
                 member_count=r["member_count"])


async def fetch_group(tx: Tx, guild_id: int, where: str, *args: Any) -> Group | None:
    row = await tx.fetchrow(f"{GROUP_SELECT} WHERE g.guild_id = ? AND {where}", guild_id, *args)
    return group_row(row) if row else None


class GroupQueries:
    db: Backend

    async def create_group(self, guild_id: int, name: str, topic: str | None, channel_id: int | None,
                           owner_id: int, at: datetime) -> Group | None:
        """Create a group with its owner as first member; None when an active group has that name."""
        async with self.db.transaction() as tx:
            group_id = await tx.fetchval(
                "INSERT INTO study_groups (guild_id, name, name_key, topic, channel_id, owner_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                guild_id, name, name_key(name), topic, channel_id, owner_id, to_db_time(at),
            )
            if group_id is None:
                return None
            await tx.execute("INSERT INTO group_members (guild_id, group_id, user_id, joined_at) VALUES (?, ?, ?, ?)",
                             guild_id, group_id, owner_id, to_db_time(at))
            return await fetch_group(tx, guild_id, "g.id = ?", group_id)

    async def group_by_name(self, guild_id: int, name: str) -> Group | None:
        """The active group with this name (case-insensitive)."""
        async with self.db.read() as tx:
            return await fetch_group(tx, guild_id, "g.name_key = ? AND g.archived = 0", name_key(name))

    async def group_by_id(self, guild_id: int, group_id: int) -> Group | None:
        """A group of this server by id, archived or not."""
        async with self.db.read() as tx:
            return await fetch_group(tx, guild_id, "g.id = ?", group_id)

    async def groups(self, guild_id: int, member_id: int | None = None,
                     include_archived: bool = False) -> list[Group]:
        """The server's groups by name, optionally only those a user belongs to."""
        where, args = ["g.guild_id = ?"], [guild_id]
        if not include_archived:
            where.append("g.archived = 0")
        if member_id is not None:
            where.append("EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND m.user_id = ?)")
            args.append(member_id)
        async with self.db.read() as tx:
            rows = await tx.fetch(f"{GROUP_SELECT} WHERE {' AND '.join(where)} ORDER BY g.name_key, g.id", *args)
        return [group_row(r) for r in rows]

    async def count_owned_groups(self, guild_id: int, owner_id: int) -> int:
        """How many active groups this user owns here."""
        async with self.db.read() as tx:
            return int(await tx.fetchval("SELECT COUNT(*) FROM study_groups WHERE guild_id = ? AND owner_id = ? "
                                         "AND archived = 0", guild_id, owner_id) or 0)

    async def members(self, guild_id: int, group_id: int) -> tuple[int, ...]:
        """Member ids in joining order."""
        async with self.db.read() as tx:
            rows = await tx.fetch("SELECT user_id FROM group_members WHERE guild_id = ? AND group_id = ? "
                                  "ORDER BY joined_at, user_id", guild_id, group_id)
        return tuple(r[0] for r in rows)

    async def add_member(self, guild_id: int, group_id: int, user_id: int, at: datetime) -> bool:
        """Add a member; False when already one."""
        async with self.db.transaction() as tx:
            return await tx.execute("INSERT INTO group_members (guild_id, group_id, user_id, joined_at) "
                                    "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                                    guild_id, group_id, user_id, to_db_time(at)) > 0

    async def remove_member(self, guild_id: int, group_id: int, user_id: int, at: datetime,
                            audit: Audit | None = None) -> bool:
        """Remove a member (audited when a moderator does it); False when not a member."""
        async with self.db.transaction() as tx:
            removed = await tx.execute("DELETE FROM group_members WHERE guild_id = ? AND group_id = ? AND user_id = ?",
                                       guild_id, group_id, user_id)
            if removed and audit:
                await insert_audit(tx, guild_id, audit, at)
            return removed > 0

    async def rename_group(self, guild_id: int, group_id: int, new_name: str, at: datetime,
                           audit: Audit | None = None) -> bool:
        """Rename; False when another active group already has the name."""
        async with self.db.transaction() as tx:
            try:
                async with tx.savepoint():  # PostgreSQL aborts a transaction on an error: only the rename rolls back
                    await tx.execute("UPDATE study_groups SET name = ?, name_key = ? WHERE guild_id = ? AND id = ?",
                                     new_name, name_key(new_name), guild_id, group_id)
            except IntegrityError:
                return False
            if audit:
                await insert_audit(tx, guild_id, audit, at)
            return True

    async def archive_group(self, guild_id: int, group_id: int, at: datetime, audit: Audit | None = None) -> int:
        """Archive a group and cancel its scheduled sessions; returns how many sessions were cancelled."""
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE study_groups SET archived = 1 WHERE guild_id = ? AND id = ?", guild_id, group_id)
            cancelled = await tx.execute("UPDATE study_sessions SET status = 'cancelled' WHERE guild_id = ? "
                                         "AND group_id = ? AND status = 'scheduled'", guild_id, group_id)
            if audit:
                await insert_audit(tx, guild_id, audit, at)
            return cancelled
