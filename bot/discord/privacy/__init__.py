"""Learners own their data: `/privacy export`, `/privacy forget-me`, the daily purge, departed servers."""

from __future__ import annotations

from discord.ext import commands

from bot.discord.privacy._cog import PrivacyCog
from bot.discord.privacy._views import DYNAMIC_ITEMS


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(PrivacyCog(bot))
    bot.add_dynamic_items(*DYNAMIC_ITEMS)


async def teardown(bot: commands.Bot) -> None:
    bot.remove_dynamic_items(*DYNAMIC_ITEMS)
