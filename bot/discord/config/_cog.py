"""`/config`: study channels and the moderator role (moderators), and each member's own timezone.

The moderator rule is the one `/corpus` uses (`moderator_only`, i.e. `acts_as_moderator`), imported, not copied.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Optional

import discord
from discord import app_commands

from bot.discord.corpus_admin._cog import moderator_only
from bot.discord.services import StudyCog
from bot.discord.study._render import timezone_text
from bot.discord.study._shared import checked_zone
from bot.study.when import zone_choices


class ConfigCog(StudyCog, name="Config"):
    """Server settings (moderators) and your own timezone."""

    config = app_commands.Group(name="config", description="studybot settings: your timezone; study channels and "
                                "moderator role (moderators)", guild_only=True)
    study_channel = app_commands.Group(name="study-channel", description="Channels where every question is answered",
                                       parent=config)

    @study_channel.command(name="add")
    @app_commands.describe(channel="Every question posted here gets an answer")
    @moderator_only
    async def study_channel_add(self, interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        """Mark a channel as a study channel."""
        await self.services.study.admin.set_study_channel(interaction.guild_id, interaction.user.id, channel.id, True)
        await interaction.response.send_message(f"{channel.mention} is now a study channel: I answer questions "
                                                "posted there.", ephemeral=True)

    @study_channel.command(name="remove")
    @moderator_only
    async def study_channel_remove(self, interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        """Stop answering every question in a channel (mentions still work)."""
        await self.services.study.admin.set_study_channel(interaction.guild_id, interaction.user.id, channel.id,
                                                          False)
        await interaction.response.send_message(f"{channel.mention} is no longer a study channel.", ephemeral=True)

    @config.command(name="moderator-role")
    @app_commands.describe(role="Members with this role may curate the corpus")
    @moderator_only
    async def moderator_role(self, interaction: discord.Interaction, role: discord.Role) -> None:
        """Set the role whose members are studybot moderators."""
        await self.services.study.admin.set_moderator_role(interaction.guild_id, interaction.user.id, role.id)
        await interaction.response.send_message(f"Members with {role.mention} can now curate the corpus.",
                                                ephemeral=True)

    async def zone_autocomplete(self, interaction: discord.Interaction,
                                current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=z, value=z) for z in zone_choices(current, 25)]

    @config.command(name="timezone")
    @app_commands.describe(name="Your IANA timezone: start typing your nearest big city (empty: show yours)")
    @app_commands.autocomplete(name=zone_autocomplete)
    async def timezone(self, interaction: discord.Interaction,
                       name: Optional[app_commands.Range[str, 1, 64]] = None) -> None:
        """Your timezone (personal, default UTC): session times you type and daily reminders use it."""
        admin = self.services.study.admin
        if name is None:
            zone = await admin.timezone(interaction.user.id)
        else:
            zone = await admin.set_timezone(interaction.user.id, checked_zone(name))
        await interaction.response.send_message(timezone_text(zone, datetime.now(UTC), changed=name is not None),
                                                ephemeral=True)
