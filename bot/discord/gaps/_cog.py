"""`/corpus gaps` (moderators): the questions this server's notes could not answer well, grouped by meaning.

The command joins the `/corpus` group of the corpus_admin feature when this cog loads, so the feature lives in
its own package while learners see one `/corpus` command.
"""

from __future__ import annotations

from functools import cached_property

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.corpus_admin._cog import moderator_only
from bot.discord.gaps._render import gap_embed
from bot.discord.gaps._views import gap_view
from bot.discord.services import StudyCog
from bot.insights.gaps import GapService

PARENT = "corpus"


class GapsCog(StudyCog, name="Gaps"):
    """The gap report and note drafts, for moderators."""

    def __init__(self, bot: commands.Bot) -> None:
        super().__init__(bot)
        # `gaps` is a subcommand of /corpus, not a top-level command: take it out of the cog's own list.
        self.__cog_app_commands__ = []

    @cached_property
    def service(self) -> GapService:
        """Built on first use from the bot's services (a bot that only syncs its commands never builds it)."""
        return GapService(self.services.study.store, self.services.answers)

    async def cog_load(self) -> None:
        parent = self.bot.tree.get_command(PARENT)
        if not isinstance(parent, app_commands.Group):
            raise RuntimeError("load bot.discord.corpus_admin before bot.discord.gaps: /corpus gaps joins /corpus")
        parent.add_command(self.gaps)

    async def cog_unload(self) -> None:
        parent = self.bot.tree.get_command(PARENT)
        if isinstance(parent, app_commands.Group):
            parent.remove_command(self.gaps.name)

    @app_commands.command(name="gaps")
    @app_commands.describe(days="How far back to look (default 30 days)",
                           min_count="Smallest group shown (default 2 questions)")
    @moderator_only
    async def gaps(self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 365] = 30,
                   min_count: app_commands.Range[int, 1, 100] = 2) -> None:
        """Moderators: questions the notes could not answer well, grouped by meaning, with note drafts."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        report = await self.service.report(interaction.guild_id, days, min_count)
        view = gap_view(report, 0) or discord.utils.MISSING
        await interaction.followup.send(embed=gap_embed(report, 0), view=view, ephemeral=True)
