"""Moderators curate the corpus live (/corpus) and configure the server (/config)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Optional
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.corpus_admin._render import problems_embed, refresh_embed, stats_embed
from bot.discord.errors import NotModerator
from bot.discord.study._render import timezone_text
from bot.discord.study._shared import checked_zone
from bot.discord.text import CHOICE_NAME_MAX, clean_cut
from bot.errors import CorpusInvalid, InvalidInput, NotFound
from bot.knowledge.notes import parse_note
from bot.study.when import zone_choices

if TYPE_CHECKING:  # pragma: no cover
    from bot.discord.app import Services

NONE = discord.AllowedMentions.none()
MAX_NOTE_BYTES = 200_000


async def is_moderator(interaction: discord.Interaction) -> bool:
    """Manage Server, or the guild's moderator role; raises NotModerator otherwise."""
    member = interaction.user
    if interaction.guild is None or not isinstance(member, discord.Member):
        raise app_commands.NoPrivateMessage()
    if member.guild_permissions.manage_guild:
        return True
    services: Services = interaction.client.services  # type: ignore[attr-defined]
    role_id = await services.moderator_role(interaction.guild.id)
    if role_id is not None and any(r.id == role_id for r in member.roles):
        return True
    raise NotModerator()


moderator_only = app_commands.check(is_moderator)


class CorpusAdminCog(commands.Cog, name="Corpus"):
    """Reload, add, remove and describe notes; server settings."""

    corpus = app_commands.Group(name="corpus", description="Curate the study notes (moderators)", guild_only=True)
    config = app_commands.Group(name="config", description="studybot settings: your timezone; study channels and "
                                "moderator role (moderators)", guild_only=True)
    study_channel = app_commands.Group(name="study-channel", description="Channels where every question is answered",
                                       parent=config)

    def __init__(self, bot: commands.Bot, services: "Services"):
        self.bot = bot
        self.services = services

    # -- helpers -----------------------------------------------------------------------------------------
    async def _refresh(self):
        """Rebuild off the event loop; questions keep being answered from the old index meanwhile."""
        return await asyncio.to_thread(self.services.answers.refresh)

    async def _audit(self, interaction: discord.Interaction, action: str, detail: str) -> None:
        await self.services.audit(interaction.guild_id, interaction.user.id, action, detail)

    async def note_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        notes = self.services.answers.corpus.find(current, limit=25)
        return [app_commands.Choice(name=clean_cut(f"{n.id} ({n.discipline})", CHOICE_NAME_MAX), value=n.id)
                for n in notes]

    # -- /corpus -----------------------------------------------------------------------------------------
    @corpus.command(name="reload")
    @moderator_only
    async def reload(self, interaction: discord.Interaction) -> None:
        """Re-read the notes from disk, validate, and swap in the rebuilt index."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        async with self.services.corpus_lock:  # two reloads never interleave
            started = time.perf_counter()
            try:
                report = await self._refresh()
            except CorpusInvalid as exc:
                await self._audit(interaction, "corpus.reload", f"rejected: {len(exc.problems)} problem(s)")
                await interaction.followup.send(embed=problems_embed(exc.problems), ephemeral=True,
                                                allowed_mentions=NONE)
                return
            elapsed = time.perf_counter() - started
        await self._audit(interaction, "corpus.reload", report.build.summary)
        await interaction.followup.send(embed=refresh_embed("Corpus reloaded", report, elapsed), ephemeral=True,
                                        allowed_mentions=NONE)

    @corpus.command(name="add")
    @app_commands.describe(file="A Markdown note (.md) in the corpus format")
    @moderator_only
    async def add(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        """Add or replace a note from an attached .md file, then reindex."""
        if not file.filename.lower().endswith(".md"):
            raise InvalidInput("Attach a Markdown note ending in `.md` (see docs/CORPUS_FORMAT.md).")
        if file.size > MAX_NOTE_BYTES:
            raise InvalidInput(f"That file is {file.size:,} bytes; notes are limited to {MAX_NOTE_BYTES:,}.")
        await interaction.response.defer(thinking=True, ephemeral=True)
        raw = await file.read()
        try:
            text = raw.decode("utf-8").replace("\r\n", "\n")
        except UnicodeDecodeError:
            raise InvalidInput("That file is not UTF-8 text.") from None
        parsed = parse_note(text, file.filename)
        if parsed.note is None:
            problems = "\n".join(f"{file.filename}:{line}: {msg}" for line, msg in parsed.problems[:15])
            raise InvalidInput(f"The note has problems, so nothing was changed:\n```\n{clean_cut(problems, 1500)}\n```")
        note = parsed.note
        root = Path(self.services.settings.corpus_dir)
        target = root / note.discipline / f"{note.id}.md"
        async with self.services.corpus_lock:
            previous = target.read_bytes() if target.exists() else None
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.upload")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(target)
            started = time.perf_counter()
            try:
                report = await self._refresh()
            except CorpusInvalid as exc:
                if previous is None:
                    target.unlink(missing_ok=True)
                else:
                    target.write_bytes(previous)
                await interaction.followup.send(embed=problems_embed(exc.problems, "The note was not added"),
                                                ephemeral=True, allowed_mentions=NONE)
                return
            elapsed = time.perf_counter() - started
        verb = "replaced" if previous is not None else "added"
        await self._audit(interaction, "corpus.add", f"{verb} {note.id} ({target.as_posix()})")
        await interaction.followup.send(embed=refresh_embed(f"Note {verb}: {note.title}", report, elapsed),
                                        ephemeral=True, allowed_mentions=NONE)

    @corpus.command(name="remove")
    @app_commands.describe(id="The note to remove")
    @app_commands.autocomplete(id=note_autocomplete)
    @moderator_only
    async def remove(self, interaction: discord.Interaction, id: str) -> None:  # noqa: A002 - the option's name
        """Remove a note (refused while other notes list it as a prerequisite), then reindex."""
        corpus = self.services.answers.corpus
        note = corpus.get(id)
        if note is None:
            raise NotFound(f"There is no note with id `{clean_cut(id, 80)}`.")
        dependents = corpus.graph.next_topics(note.id)
        if dependents:
            names = ", ".join(f"`{d}`" for d in dependents[:10])
            raise InvalidInput(f"`{note.id}` is a prerequisite of {names}. Edit those notes first, "
                               "then remove it.")
        await interaction.response.defer(thinking=True, ephemeral=True)
        path = Path(self.services.settings.corpus_dir) / note.discipline / f"{note.id}.md"
        async with self.services.corpus_lock:
            backup = path.read_bytes() if path.exists() else None
            path.unlink(missing_ok=True)
            started = time.perf_counter()
            try:
                report = await self._refresh()
            except CorpusInvalid as exc:
                if backup is not None:
                    path.write_bytes(backup)
                await interaction.followup.send(embed=problems_embed(exc.problems, "The note was not removed"),
                                                ephemeral=True, allowed_mentions=NONE)
                return
            elapsed = time.perf_counter() - started
        await self._audit(interaction, "corpus.remove", note.id)
        await interaction.followup.send(embed=refresh_embed(f"Note removed: {note.title}", report, elapsed),
                                        ephemeral=True, allowed_mentions=NONE)

    @corpus.command(name="stats")
    async def stats(self, interaction: discord.Interaction) -> None:
        """Notes per discipline, chunks, model, last build, questions answered."""
        state = self.services.answers.state
        counts = await self.services.study.questions.stats(interaction.guild_id)
        await interaction.response.send_message(embed=stats_embed(state, counts.answered, counts.unanswered),
                                                ephemeral=True,
                                                allowed_mentions=NONE)

    # -- /config -----------------------------------------------------------------------------------------
    @study_channel.command(name="add")
    @app_commands.describe(channel="Every question posted here gets an answer")
    @moderator_only
    async def study_channel_add(self, interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        """Mark a channel as a study channel."""
        await self.services.study.admin.set_study_channel(interaction.guild_id, interaction.user.id, channel.id, True)
        await interaction.response.send_message(f"{channel.mention} is now a study channel: I answer questions "
                                                "posted there.", ephemeral=True, allowed_mentions=NONE)

    @study_channel.command(name="remove")
    @moderator_only
    async def study_channel_remove(self, interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        """Stop answering every question in a channel (mentions still work)."""
        await self.services.study.admin.set_study_channel(interaction.guild_id, interaction.user.id, channel.id,
                                                          False)
        await interaction.response.send_message(f"{channel.mention} is no longer a study channel.", ephemeral=True,
                                                allowed_mentions=NONE)

    @config.command(name="moderator-role")
    @app_commands.describe(role="Members with this role may curate the corpus")
    @moderator_only
    async def moderator_role(self, interaction: discord.Interaction, role: discord.Role) -> None:
        """Set the role whose members are studybot moderators."""
        await self.services.study.admin.set_moderator_role(interaction.guild_id, interaction.user.id, role.id)
        await interaction.response.send_message(f"Members with {role.mention} can now curate the corpus.",
                                                ephemeral=True, allowed_mentions=NONE)

    async def zone_autocomplete(self, interaction: discord.Interaction,
                                current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=z, value=z) for z in zone_choices(current, 25)]

    @config.command(name="timezone")
    @app_commands.describe(name="Your IANA timezone: start typing your nearest big city (empty: show yours)")
    @app_commands.autocomplete(name=zone_autocomplete)
    async def timezone(self, interaction: discord.Interaction,
                       name: Optional[app_commands.Range[str, 1, 64]] = None) -> None:
        """Your timezone (personal, default UTC): session times you type and daily reminders use it."""
        admin = self.services.study.admin
        if name is None:
            zone = await admin.timezone(interaction.user.id)
        else:
            zone = await admin.set_timezone(interaction.user.id, checked_zone(name))
        await interaction.response.send_message(timezone_text(zone, datetime.now(UTC), changed=name is not None),
                                                ephemeral=True, allowed_mentions=NONE)
