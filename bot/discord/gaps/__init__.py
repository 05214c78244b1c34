"""The gap report for moderators: `/corpus gaps` and its "Draft a note" buttons."""

from __future__ import annotations

from discord.ext import commands

from bot.discord.gaps._cog import GapsCog
from bot.discord.gaps._views import DYNAMIC_ITEMS


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(GapsCog(bot))
    bot.add_dynamic_items(*DYNAMIC_ITEMS)


async def teardown(bot: commands.Bot) -> None:
    bot.remove_dynamic_items(*DYNAMIC_ITEMS)
