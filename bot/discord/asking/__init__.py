"""Asking: questions by mention, in study channels and with /ask; topics, next topics and paths."""

from __future__ import annotations

from discord.ext import commands

from bot.discord.asking._cog import AskingCog
from bot.discord.asking._views import DYNAMIC_ITEMS


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(AskingCog(bot))
    bot.add_dynamic_items(*DYNAMIC_ITEMS)
