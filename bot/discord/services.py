"""How the Discord edge reaches its services: through a typed property of the bot, read when a command runs.

Cogs and views never hold an untyped `bot.services` attribute: a cog subclasses `StudyCog` and calls
`self.services`; a view calls `services_of(interaction.client)`. A bot built only to sync its commands has no
services at all (`studybot sync` loads no model, index or database), and no command of it ever runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

import discord
from discord.ext import commands

from bot.errors import StudybotError

if TYPE_CHECKING:  # pragma: no cover
    from bot.discord.app import Services


class ServingClient(Protocol):
    """A client whose commands can run: the StudyBot, or a test's fake client."""

    @property
    def services(self) -> Services: ...


def services_of(client: object) -> Services:
    """The services of the bot a cog or an interaction belongs to."""
    return cast(ServingClient, client).services


async def acts_as_moderator(interaction: discord.Interaction) -> bool:
    """Whether the member may moderate here: the rule itself is `AdminService.is_moderator` (Manage Server,
    or the server's moderator role); False in DMs."""
    member = interaction.user
    if interaction.guild_id is None or not isinstance(member, discord.Member):
        return False
    return await services_of(interaction.client).study.admin.is_moderator(
        interaction.guild_id, [r.id for r in member.roles], manage_guild=member.guild_permissions.manage_guild)


class StudyCog(commands.Cog):
    """A cog of studybot: built from the bot alone; its commands reach the services through it."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @property
    def services(self) -> Services:
        return services_of(self.bot)

    @property
    def serving(self) -> bool:
        """False for a bot built only to sync its commands: its cogs start no loop and build no service."""
        try:
            services_of(self.bot)
        except StudybotError:
            return False
        return True


__all__ = ["ServingClient", "StudyCog", "acts_as_moderator", "services_of"]
