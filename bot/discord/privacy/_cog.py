"""`/privacy export` and `/privacy forget-me` for learners; the daily purge and the departed-server bookkeeping.

When the bot is removed from a server the time is recorded; joining again cancels it; the daily task deletes the
servers left longer ago than the grace period (only those of this process's shards) and the logged questions and
feedback older than the retention period. Tests call `daily_purge(now)` instead of waiting a day.
"""

from __future__ import annotations

import io
import logging
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.discord.privacy._render import CONFIRM, export_text
from bot.discord.privacy._views import confirm_view
from bot.discord.services import StudyCog
from bot.knowledge.overlay import ServerNotes
from bot.privacy import PrivacyService

if TYPE_CHECKING:  # pragma: no cover
    from bot.privacy import DailyReport

log = logging.getLogger("studybot.privacy")


class PrivacyCog(StudyCog, name="Privacy"):
    """Your data in this server: export it, or delete it."""

    privacy = app_commands.Group(name="privacy", description="Your data in this server: export it, or delete it",
                                 guild_only=True)

    @cached_property
    def service(self) -> PrivacyService:
        """Built on first use from the bot's services (a bot that only syncs its commands never builds it)."""
        services = self.services
        settings = services.settings

        def forget_served_notes(guild_id: int) -> None:
            """A deleted server's notes also leave memory (its index and view)."""
            services.answers.servers.set_notes(ServerNotes(guild_id))

        return PrivacyService(services.study.store, settings.retention_days, settings.departed_guild_grace_days,
                              on_guild_deleted=forget_served_notes)

    async def cog_load(self) -> None:
        if self.serving:
            self.daily_loop.start()

    async def cog_unload(self) -> None:
        self.daily_loop.cancel()

    @privacy.command(name="export")
    async def export(self, interaction: discord.Interaction) -> None:
        """Your own data in this server, as a JSON file only you can see."""
        export = await self.service.export(interaction.guild_id, interaction.user.id)
        file = discord.File(io.BytesIO(export.to_json()), f"studybot-my-data-{interaction.guild_id}.json")
        await interaction.response.send_message(export_text(export), file=file, ephemeral=True)

    @privacy.command(name="forget-me")
    async def forget_me(self, interaction: discord.Interaction) -> None:
        """Delete your questions, feedback, quiz attempts, reviews and progress in this server (asks first)."""
        await interaction.response.send_message(CONFIRM, view=confirm_view(interaction.user.id), ephemeral=True)

    # -- servers joined and left --------------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.service.guild_removed(guild.id)
        log.info("removed from guild %s: its data will be deleted after the grace period", guild.id)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        if await self.service.guilds_present([guild.id]):
            log.info("added back to guild %s: its pending deletion is cancelled", guild.id)

    # -- the daily task -----------------------------------------------------------------------------------
    @tasks.loop(hours=24)
    async def daily_loop(self) -> None:
        try:
            await self.daily_purge()
        except Exception:  # noqa: BLE001 - one failed pass must not stop the loop
            log.exception("daily privacy purge failed; retrying tomorrow")

    @daily_loop.before_loop
    async def _wait_until_ready(self) -> None:
        await self.bot.wait_until_ready()

    async def daily_purge(self, now: datetime | None = None) -> "DailyReport":
        """One pass: the servers the bot is in keep their data; expired logs and departed servers go."""
        report = await self.service.daily(present=[g.id for g in self.bot.guilds], now=now, owns=self.owns)
        log.info("privacy purge: %s question(s) and %s feedback row(s) expired; servers deleted: %s",
                 report.purged.questions, report.purged.feedback, list(report.guilds_deleted))
        return report

    def owns(self, guild_id: int) -> bool:
        """Whether this process serves the guild's shard (every guild when not sharded)."""
        count = self.bot.shard_count or 1
        ids = getattr(self.bot, "shard_ids", None)
        if ids is None:
            ids = [self.bot.shard_id] if self.bot.shard_id is not None else None
        return ids is None or (guild_id >> 22) % count in ids
