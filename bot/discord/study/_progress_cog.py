"""/progress, /leaderboard and /map.

Privacy: `/progress` is always ephemeral. For yourself it lists the topics you studied; for another member it
shows only the summary a leaderboard already implies (streak, correct answers, mastery per discipline), never
which topics they asked about or opened. `/map` is personal too (your mastered topics coloured), so ephemeral;
`/leaderboard` is public, as leaderboards are.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Literal, Optional

import discord
from discord import app_commands

from bot.discord.services import StudyCog
from bot.discord.study._render import leaderboard_embed, map_embed, progress_embed
from bot.discord.study._shared import group_autocomplete, group_name, guild_id_of
from bot.knowledge.notes import DISCIPLINE_LABELS, DISCIPLINES


Period = Literal["all time", "this week", "this month"]
PERIODS: dict[str, timedelta | None] = {"all time": None, "this week": timedelta(days=7),
                                        "this month": timedelta(days=30)}
MAP_CHOICES = [app_commands.Choice(name=DISCIPLINE_LABELS.get(d, d), value=d) for d in DISCIPLINES] + [
    app_commands.Choice(name="All topics (overview by discipline)", value="all")]


class ProgressCog(StudyCog, name="Progress"):
    """Progress, leaderboards and the study map."""

    @app_commands.command()
    @app_commands.guild_only()
    @app_commands.describe(member="Someone else (you'll see a summary only)")
    async def progress(self, interaction: discord.Interaction, member: Optional[discord.Member] = None) -> None:
        """Your streak, quiz answers, mastery per discipline and the topics you studied (only you see it)."""
        target = member or interaction.user
        report = await self.services.study.progress.report(guild_id_of(interaction), target.id)
        mine = target.id == interaction.user.id
        await interaction.response.send_message(embed=progress_embed(report, target.display_name, detailed=mine),
                                                ephemeral=True)

    @app_commands.command()
    @app_commands.guild_only()
    @app_commands.describe(group="Only this study group's members (optional)", metric="What to rank by",
                           period="Which answers count")
    @app_commands.autocomplete(group=group_autocomplete)
    async def leaderboard(self, interaction: discord.Interaction,
                          group: Optional[app_commands.Range[str, 1, 100]] = None,
                          metric: Literal["correct", "mastered"] = "correct", period: Period = "all time") -> None:
        """Top learners of the server or of a group."""
        span = PERIODS[period]
        since = datetime.now(UTC) - span if span else None
        name = group_name(group) if group else None
        entries = await self.services.study.progress.leaderboard(guild_id_of(interaction), metric, since, name)
        await interaction.response.send_message(embed=leaderboard_embed(entries, metric, period, name))

    @app_commands.command(name="map")
    @app_commands.guild_only()
    @app_commands.describe(discipline="One discipline's topics, or an overview of all (default: your own map)")
    @app_commands.choices(discipline=MAP_CHOICES)
    async def map_(self, interaction: discord.Interaction,
                   discipline: Optional[app_commands.Choice[str]] = None) -> None:
        """Your study map: what you studied and what comes next, one discipline, or all topics."""
        scope = discipline.value if discipline else "mine"
        guild_id = guild_id_of(interaction)
        await interaction.response.defer(thinking=True, ephemeral=True)
        png = await self.services.study.progress.map_png(guild_id, interaction.user.id, scope)
        await interaction.followup.send(embed=map_embed(scope), file=discord.File(io.BytesIO(png), filename="map.png"),
                                        ephemeral=True)
