"""Moderators curate their server's notes and owners reload the base corpus (/corpus)."""

from __future__ import annotations

import io
import time

import discord
from discord import app_commands

from bot.discord.services import StudyCog, acts_as_moderator
from bot.discord.corpus_admin._render import change_embed, listing_embed, problems_embed, refresh_embed, stats_embed
from bot.discord.errors import NotModerator, NotOwner
from bot.discord.text import CHOICE_NAME_MAX, clean_cut
from bot.errors import CorpusInvalid


async def is_moderator(interaction: discord.Interaction) -> bool:
    """The moderator check of a command: `acts_as_moderator`, or NotModerator (NoPrivateMessage in DMs)."""
    if interaction.guild is None or not isinstance(interaction.user, discord.Member):
        raise app_commands.NoPrivateMessage()
    if await acts_as_moderator(interaction):
        return True
    raise NotModerator()


moderator_only = app_commands.check(is_moderator)


async def is_owner(interaction: discord.Interaction) -> bool:
    """The application's owner or team, or STUDYBOT_OWNER_IDS; raises NotOwner otherwise."""
    if await interaction.client.is_owner(interaction.user):  # type: ignore[attr-defined]
        return True
    raise NotOwner()


owner_only = app_commands.check(is_owner)


class CorpusAdminCog(StudyCog, name="Corpus"):
    """This server's notes (moderators), the base corpus (owners)."""

    corpus = app_commands.Group(name="corpus", description="This server's notes (moderators); the base corpus (bot owners)", guild_only=True)

    # -- helpers -----------------------------------------------------------------------------------------
    async def note_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """The notes this server sees (for /corpus hide: the base notes among them)."""
        notes = self.services.corpus(interaction.guild_id).find(current, limit=25)
        return [app_commands.Choice(name=clean_cut(f"{n.id} ({n.discipline})", CHOICE_NAME_MAX), value=n.id)
                for n in notes]

    async def own_note_autocomplete(self, interaction: discord.Interaction,
                                    current: str) -> list[app_commands.Choice[str]]:
        """This server's own notes."""
        server = self.services.curation.server(interaction.guild_id or 0)
        key = current.strip().lower()
        return [app_commands.Choice(name=clean_cut(f"{n.id}: {n.title}", CHOICE_NAME_MAX), value=n.id)
                for n in sorted(server.notes.values(), key=lambda n: n.id) if key in n.id or key in n.title.lower()][:25]

    async def hidden_autocomplete(self, interaction: discord.Interaction,
                                  current: str) -> list[app_commands.Choice[str]]:
        """The base notes this server hides."""
        server = self.services.curation.server(interaction.guild_id or 0)
        return [app_commands.Choice(name=h, value=h) for h in sorted(server.hidden) if current.lower() in h][:25]

    # -- /corpus: the base corpus (owners) ----------------------------------------------------------------
    @corpus.command(name="reload")
    @owner_only
    async def reload(self, interaction: discord.Interaction) -> None:
        """Bot owners: re-read the base notes from disk, validate, and swap in the rebuilt index."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        started = time.perf_counter()
        try:
            report = await self.services.curation.reload_base(interaction.user.id, interaction.guild_id)
        except CorpusInvalid as exc:
            await interaction.followup.send(embed=problems_embed(exc.problems), ephemeral=True)
            return
        await interaction.followup.send(embed=refresh_embed("Base corpus reloaded", report,
                                                            time.perf_counter() - started),
                                        ephemeral=True)

    # -- /corpus: this server's notes (moderators) --------------------------------------------------------
    @corpus.command(name="add")
    @app_commands.describe(file="A Markdown note (.md) in the corpus format; a base note's id replaces it here")
    @moderator_only
    async def add(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        """Add or replace one of this server's notes (other servers are not affected)."""
        self.services.curation.check_file(file.filename, file.size)
        await interaction.response.defer(thinking=True, ephemeral=True)
        change = await self.services.curation.add(interaction.guild_id, interaction.user.id, file.filename,
                                                   await file.read())
        await interaction.followup.send(embed=change_embed(change), ephemeral=True)

    @corpus.command(name="remove")
    @app_commands.describe(id="One of this server's notes")
    @app_commands.autocomplete(id=own_note_autocomplete)
    @moderator_only
    async def remove(self, interaction: discord.Interaction, id: str) -> None:  # noqa: A002 - the option's name
        """Remove one of this server's notes (a base note it replaced comes back)."""
        change = await self.services.curation.remove(interaction.guild_id, interaction.user.id, id)
        await interaction.response.send_message(embed=change_embed(change), ephemeral=True)

    @corpus.command(name="hide")
    @app_commands.describe(id="A base note to hide in this server")
    @app_commands.autocomplete(id=note_autocomplete)
    @moderator_only
    async def hide(self, interaction: discord.Interaction, id: str) -> None:  # noqa: A002
        """Hide a base note in this server (other servers keep it)."""
        change = await self.services.curation.hide(interaction.guild_id, interaction.user.id, id)
        await interaction.response.send_message(embed=change_embed(change), ephemeral=True)

    @corpus.command(name="unhide")
    @app_commands.describe(id="A base note hidden in this server")
    @app_commands.autocomplete(id=hidden_autocomplete)
    @moderator_only
    async def unhide(self, interaction: discord.Interaction, id: str) -> None:  # noqa: A002
        """Show a hidden base note in this server again."""
        change = await self.services.curation.unhide(interaction.guild_id, interaction.user.id, id)
        await interaction.response.send_message(embed=change_embed(change), ephemeral=True)

    @corpus.command(name="list")
    @moderator_only
    async def list_(self, interaction: discord.Interaction) -> None:
        """This server's own notes and the base notes it hides."""
        listing = await self.services.curation.listing(interaction.guild_id)
        await interaction.response.send_message(embed=listing_embed(listing), ephemeral=True)

    @corpus.command(name="export")
    @moderator_only
    async def export(self, interaction: discord.Interaction) -> None:
        """This server's notes as a zip of Markdown files."""
        data = await self.services.curation.export(interaction.guild_id)
        await interaction.response.send_message("This server's notes (re-add any of them with `/corpus add`).",
                                                file=discord.File(io.BytesIO(data), f"server-notes-{interaction.guild_id}.zip"),
                                                ephemeral=True)

    @corpus.command(name="stats")
    async def stats(self, interaction: discord.Interaction) -> None:
        """Notes per discipline, chunks, model, last build, questions answered."""
        state = self.services.answers.state
        counts = await self.services.study.questions.stats(interaction.guild_id)
        await interaction.response.send_message(embed=stats_embed(state, counts.answered, counts.unanswered),
                                                ephemeral=True)
