"""Server settings (study channels, moderator role), the moderators' audit log, and learners' timezones."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.errors import InvalidInput
from bot.study.models import Audit, AuditEntry, GuildConfig
from bot.study.storage import Store
from bot.study.when import DEFAULT_ZONE, canonical_zone, now_or_utc

MAX_DETAIL = 500


class AdminService:
    """Per-server configuration and per-user settings. Callers check Discord permissions before changes."""

    def __init__(self, store: Store):
        self._store = store

    async def config(self, guild_id: int) -> GuildConfig:
        """The server's study channels and moderator role."""
        return await self._store.guild_config(guild_id)

    async def is_moderator(self, guild_id: int, role_ids: Iterable[int], *, manage_guild: bool = False) -> bool:
        """A member is a moderator with Manage Server, or with the configured moderator role."""
        if manage_guild:
            return True
        role = (await self._store.guild_config(guild_id)).moderator_role_id
        return role is not None and role in set(role_ids)

    async def set_moderator_role(self, guild_id: int, actor_id: int, role_id: int | None,
                                 now: datetime | None = None) -> GuildConfig:
        """Set or clear the moderator role (audited)."""
        detail = f"role {role_id}" if role_id is not None else "cleared"
        audit = Audit(actor_id, "config.moderator_role", detail)
        await self._store.set_moderator_role(guild_id, role_id, now_or_utc(now), audit)
        return await self.config(guild_id)

    async def set_study_channel(self, guild_id: int, actor_id: int, channel_id: int, enabled: bool = True,
                                now: datetime | None = None) -> GuildConfig:
        """Add or remove a study channel (audited when it changes something)."""
        action = "config.study_channel.add" if enabled else "config.study_channel.remove"
        await self._store.set_study_channel(guild_id, channel_id, enabled, now_or_utc(now),
                                            Audit(actor_id, action, f"channel {channel_id}"))
        return await self.config(guild_id)

    async def log_action(self, guild_id: int, actor_id: int, action: str, detail: str = "",
                         now: datetime | None = None) -> None:
        """Audit a moderator action taken elsewhere (e.g. reloading the corpus)."""
        if not action.strip():
            raise InvalidInput("An audited action needs a name.")
        await self._store.add_audit(guild_id, Audit(actor_id, action.strip()[:100], detail[:MAX_DETAIL]), now_or_utc(now))

    async def audit_log(self, guild_id: int, limit: int = 20) -> list[AuditEntry]:
        """The latest moderator actions in the server, newest first."""
        if not 1 <= limit <= 100:
            raise InvalidInput("Show 1 to 100 audit entries.")
        return await self._store.audit_log(guild_id, limit)

    async def timezone(self, user_id: int) -> str:
        """The user's timezone name ('UTC' until they set one)."""
        return await self._store.timezone(user_id) or DEFAULT_ZONE

    async def set_timezone(self, user_id: int, name: str | None, now: datetime | None = None) -> str:
        """Set the user's timezone from an IANA name (case-insensitive); None resets to UTC. Returns it."""
        zone = canonical_zone(name) if name is not None else None
        await self._store.set_timezone(user_id, zone, now_or_utc(now))
        return zone or DEFAULT_ZONE
