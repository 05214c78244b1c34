"""/session schedule|list|cancel. Times are read in the user's timezone (`/config timezone`)."""

from __future__ import annotations

from typing import Optional

import discord
from discord import app_commands

from bot.discord.services import StudyCog, acts_as_moderator
from bot.discord.study._render import cancelled_text, scheduled_text, sessions_embed
from bot.discord.study._shared import (
    MAX_CHOICES,
    checked_when,
    group_autocomplete,
    group_name,
    guild_id_of,
)
from bot.discord.text import CHOICE_NAME_MAX, clean_cut
from bot.study.when import format_local, resolve_zone


class SessionsCog(StudyCog, name="Study sessions"):
    """Schedule group sessions, in each learner's own timezone."""

    session = app_commands.Group(name="session", description="Study sessions of your groups", guild_only=True)

    async def session_autocomplete(self, interaction: discord.Interaction,
                                   current: str) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        sessions = await self.services.study.groups.sessions(interaction.guild_id, limit=100)
        zone = resolve_zone(await self.services.study.admin.timezone(interaction.user.id))
        key = current.strip().lstrip("#").lower()
        choices = [app_commands.Choice(name=clean_cut(f"#{s.id} {s.group_name}: {format_local(s.starts_at, zone)}"
                                                      + (f" · {s.topic}" if s.topic else ""), CHOICE_NAME_MAX),
                                       value=s.id)
                   for s in sessions if not key or key in f"{s.id} {s.group_name}".lower()]
        return choices[:MAX_CHOICES]

    # -- /session --------------------------------------------------------------------------------------------
    @session.command(name="schedule")
    @app_commands.describe(group="One of your groups", when="e.g. 'tomorrow 18:00', 'friday 17:30', 'in 2h'",
                           topic="What you'll study (optional)")
    @app_commands.autocomplete(group=group_autocomplete)
    async def schedule(self, interaction: discord.Interaction, group: app_commands.Range[str, 1, 100],
                       when: app_commands.Range[str, 1, 100],
                       topic: Optional[app_commands.Range[str, 1, 200]] = None) -> None:
        """Schedule a session of a group; the time is read in your timezone (see /config timezone)."""
        guild_id, groups = guild_id_of(interaction), self.services.study.groups
        session = await groups.schedule(guild_id, interaction.user.id, group_name(group), checked_when(when), topic)
        owner = await groups.get(guild_id, session.group_name)
        zone = resolve_zone(await self.services.study.admin.timezone(interaction.user.id))
        await interaction.response.send_message(scheduled_text(session, owner, zone, groups.reminder_lead))

    @session.command(name="list")
    @app_commands.describe(group="Only this group's sessions (optional)")
    @app_commands.autocomplete(group=group_autocomplete)
    async def list_(self, interaction: discord.Interaction,
                    group: Optional[app_commands.Range[str, 1, 100]] = None) -> None:
        """Upcoming study sessions."""
        name = group_name(group) if group else None
        sessions = await self.services.study.groups.sessions(guild_id_of(interaction), name)
        shown = sessions[0].group_name if name and sessions else name
        await interaction.response.send_message(embed=sessions_embed(sessions, shown), ephemeral=True)

    @session.command(name="cancel")
    @app_commands.describe(id="The session's number, e.g. 12")
    @app_commands.autocomplete(id=session_autocomplete)
    async def cancel(self, interaction: discord.Interaction, id: app_commands.Range[int, 1]) -> None:  # noqa: A002
        """Cancel a session (whoever scheduled it, the group's owner, or a moderator)."""
        session = await self.services.study.groups.cancel_session(guild_id_of(interaction), interaction.user.id, id,
                                                                  moderator=await acts_as_moderator(interaction))
        await interaction.response.send_message(cancelled_text(session, interaction.user.id))
