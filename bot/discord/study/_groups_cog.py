"""/group: create, join, leave, list and inspect study groups; owners (or moderators) rename, archive, remove.

Visibility: creating, joining, renaming and archiving are announced in the channel (the group is a shared
thing); leaving, removing a member, lists and details are ephemeral (nobody needs a public trace of them).
"""

from __future__ import annotations

from typing import Optional

import discord
from discord import app_commands

from bot.discord.services import StudyCog, acts_as_moderator
from bot.discord.study._render import group_embed, groups_embed, safe
from bot.discord.study._shared import (
    group_autocomplete,
    group_name,
    guild_id_of,
    my_group_autocomplete,
)
from bot.errors import InvalidInput


NameOption = app_commands.Range[str, 1, 100]  # the domain's 50-character rule gives the friendlier message
TopicOption = app_commands.Range[str, 1, 200]


def can_post(interaction: discord.Interaction, channel: discord.TextChannel) -> None:
    """Refuse a group channel the bot can't post its reminders in."""
    if interaction.guild is not None and not channel.permissions_for(interaction.guild.me).send_messages:
        raise InvalidInput(f"I can't post in {channel.mention}; pick a channel where I may send messages.")


class GroupsCog(StudyCog, name="Study groups"):
    """Study groups of a server."""

    group = app_commands.Group(name="group", description="Study groups: meet, schedule sessions, quiz together",
                               guild_only=True)

    @group.command(name="create")
    @app_commands.describe(name="1-50 letters, digits, spaces, a little punctuation",
                           topic="What the group studies (optional)",
                           channel="Where its session reminders and group quizzes go (optional)")
    async def create(self, interaction: discord.Interaction, name: NameOption, topic: Optional[TopicOption] = None,
                     channel: Optional[discord.TextChannel] = None) -> None:
        """Start a study group; you are its owner and first member."""
        if channel is not None:
            can_post(interaction, channel)
        group = await self.services.study.groups.create(guild_id_of(interaction), interaction.user.id, name, topic,
                                                        channel.id if channel else None)
        about = f" about *{safe(group.topic)}*" if group.topic else ""
        where = f", meeting in <#{group.channel_id}>" if group.channel_id else ""
        await interaction.response.send_message(
            f"🎉 <@{interaction.user.id}> started the study group **{safe(group.name)}**{about}{where}. "
            f"Join with `/group join`!")

    @group.command(name="join")
    @app_commands.describe(name="The group to join")
    @app_commands.autocomplete(name=group_autocomplete)
    async def join(self, interaction: discord.Interaction, name: NameOption) -> None:
        """Join a study group."""
        group = await self.services.study.groups.join(guild_id_of(interaction), interaction.user.id, group_name(name))
        await interaction.response.send_message(
            f"👋 <@{interaction.user.id}> joined **{safe(group.name)}** ({group.member_count} members).")

    @group.command(name="leave")
    @app_commands.describe(name="One of your groups")
    @app_commands.autocomplete(name=my_group_autocomplete)
    async def leave(self, interaction: discord.Interaction, name: NameOption) -> None:
        """Leave a study group."""
        group = await self.services.study.groups.leave(guild_id_of(interaction), interaction.user.id,
                                                       group_name(name))
        await interaction.response.send_message(f"You left **{safe(group.name)}**.", ephemeral=True)

    @group.command(name="list")
    @app_commands.describe(mine="Only the groups you're in")
    async def list_(self, interaction: discord.Interaction, mine: bool = False) -> None:
        """The study groups of this server."""
        guild_id = guild_id_of(interaction)
        groups = await self.services.study.groups.list_groups(guild_id)
        joined = await self.services.study.groups.list_groups(guild_id, member_id=interaction.user.id)
        ids = frozenset(g.id for g in joined)
        await interaction.response.send_message(embed=groups_embed(joined if mine else groups, ids, mine),
                                                ephemeral=True)

    @group.command(name="info")
    @app_commands.describe(name="The group to show")
    @app_commands.autocomplete(name=group_autocomplete)
    async def info(self, interaction: discord.Interaction, name: NameOption) -> None:
        """A group's owner, members, channel and upcoming sessions."""
        details = await self.services.study.groups.info(guild_id_of(interaction), group_name(name))
        await interaction.response.send_message(embed=group_embed(details), ephemeral=True)

    @group.command(name="rename")
    @app_commands.describe(name="The group to rename", new_name="Its new name")
    @app_commands.autocomplete(name=group_autocomplete)
    async def rename(self, interaction: discord.Interaction, name: NameOption, new_name: NameOption) -> None:
        """Rename a group (its owner, or a moderator)."""
        old = group_name(name)
        group = await self.services.study.groups.rename(guild_id_of(interaction), interaction.user.id, old, new_name,
                                                        moderator=await acts_as_moderator(interaction))
        await interaction.response.send_message(f"✏️ **{safe(old)}** is now called **{safe(group.name)}**.")

    @group.command(name="archive")
    @app_commands.describe(name="The group to archive")
    @app_commands.autocomplete(name=group_autocomplete)
    async def archive(self, interaction: discord.Interaction, name: NameOption) -> None:
        """Archive a group and cancel its sessions (its owner, or a moderator)."""
        checked = group_name(name)
        cancelled = await self.services.study.groups.archive(guild_id_of(interaction), interaction.user.id, checked,
                                                             moderator=await acts_as_moderator(interaction))
        sessions = f" and its {cancelled} upcoming session{'s were' if cancelled != 1 else ' was'} cancelled" \
            if cancelled else ""
        await interaction.response.send_message(f"📦 **{safe(checked)}** was archived{sessions}. Its name is free "
                                                "again.")

    @group.command(name="remove-member")
    @app_commands.describe(name="The group", member="Who to remove")
    @app_commands.autocomplete(name=group_autocomplete)
    async def remove_member(self, interaction: discord.Interaction, name: NameOption, member: discord.Member) -> None:
        """Remove someone from a group (its owner, or a moderator)."""
        group = await self.services.study.groups.remove_member(guild_id_of(interaction), interaction.user.id,
                                                               group_name(name), member.id,
                                                               moderator=await acts_as_moderator(interaction))
        await interaction.response.send_message(f"Removed {member.mention} from **{safe(group.name)}** "
                                                f"({group.member_count} members left).", ephemeral=True)
