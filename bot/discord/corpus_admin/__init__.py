"""Corpus curation and server settings, for moderators."""

from __future__ import annotations

from discord.ext import commands

from bot.discord.corpus_admin._cog import CorpusAdminCog


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(CorpusAdminCog(bot))
