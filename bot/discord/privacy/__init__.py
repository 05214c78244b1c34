"""Learners own their data: `/privacy export`, `/privacy forget-me`, the daily purge, departed servers."""

from __future__ import annotations

from discord.ext import commands

from bot.discord.privacy._cog import PrivacyCog
from bot.discord.privacy._views import DYNAMIC_ITEMS
from bot.knowledge.overlay import ServerNotes
from bot.privacy import PrivacyService


async def setup(bot: commands.Bot) -> None:
    services = bot.services  # type: ignore[attr-defined]
    settings = services.settings

    def forget_served_notes(guild_id: int) -> None:
        """A deleted server's notes also leave memory (its index and view)."""
        services.answers.servers.set_notes(ServerNotes(guild_id))

    service = PrivacyService(services.study.store, settings.retention_days, settings.departed_guild_grace_days,
                             on_guild_deleted=forget_served_notes)
    await bot.add_cog(PrivacyCog(bot, service))
    bot.add_dynamic_items(*DYNAMIC_ITEMS)


async def teardown(bot: commands.Bot) -> None:
    bot.remove_dynamic_items(*DYNAMIC_ITEMS)
