"""Server and personal settings: `/config` (study channels and moderator role for moderators, your timezone)."""

from __future__ import annotations

from discord.ext import commands

from bot.discord.config._cog import ConfigCog


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(ConfigCog(bot))
