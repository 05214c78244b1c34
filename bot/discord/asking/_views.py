"""Components on an answer: More detail, a select of next topics, and 👍 / 👎 feedback.

They are DynamicItems: the state lives in the custom_id, so buttons keep working after a restart.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import discord

from bot.discord.asking._render import note_embed, note_pages
from bot.discord.errors import reports_errors, send_error
from bot.discord.text import SELECT_DESCRIPTION_MAX, SELECT_LABEL_MAX, clean_cut
from bot.errors import NotFound
from bot.retrieval.answering import Answer

if TYPE_CHECKING:  # pragma: no cover
    from bot.discord.app import Services

NONE = discord.AllowedMentions.none()


def services_of(interaction: discord.Interaction) -> "Services":
    return interaction.client.services  # type: ignore[attr-defined]


def note_or_error(interaction: discord.Interaction, note_id: str):
    note = services_of(interaction).corpus(interaction.guild_id).get(note_id)
    if note is None:
        raise NotFound("That note is no longer in the corpus (a moderator may have removed it).")
    return note


class PagerView(discord.ui.View):
    """◀ ▶ through the pages of a long note (ephemeral, so only the asker sees it)."""

    def __init__(self, embeds: list[discord.Embed]):
        super().__init__(timeout=900)
        self.embeds = embeds
        self.index = 0
        self._sync()

    def _sync(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.embeds) - 1

    @discord.ui.button(label="◀", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.index = max(0, self.index - 1)
        self._sync()
        await interaction.response.edit_message(embed=self.embeds[self.index], view=self)

    @discord.ui.button(label="▶", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.index = min(len(self.embeds) - 1, self.index + 1)
        self._sync()
        await interaction.response.edit_message(embed=self.embeds[self.index], view=self)

    async def on_error(self, interaction: discord.Interaction, error: Exception, item) -> None:
        await send_error(interaction, error)


async def show_full_note(interaction: discord.Interaction, note_id: str) -> None:
    """Send the whole note, ephemeral and paged."""
    note = note_or_error(interaction, note_id)
    embeds = note_pages(note)
    view = PagerView(embeds) if len(embeds) > 1 else discord.utils.MISSING
    await interaction.response.send_message(embed=embeds[0], view=view, ephemeral=True, allowed_mentions=NONE)
    await services_of(interaction).record_study(interaction, note.id, "opened")


class DetailButton(discord.ui.DynamicItem[discord.ui.Button], template=r"sb:detail:(?P<note>[a-z0-9-]+)"):
    """"More detail": the full note."""

    def __init__(self, note_id: str):
        super().__init__(discord.ui.Button(label="More detail", emoji="📖", style=discord.ButtonStyle.primary,
                                           custom_id=f"sb:detail:{note_id}"))
        self.note_id = note_id

    @classmethod
    async def from_custom_id(cls, interaction, item, match: re.Match[str]):
        return cls(match["note"])

    @reports_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        await show_full_note(interaction, self.note_id)


class NextTopicSelect(discord.ui.DynamicItem[discord.ui.Select], template=r"sb:next:(?P<note>[a-z0-9-]+)"):
    """A select of the suggested next topics; choosing one shows that topic."""

    def __init__(self, note_id: str, options: list[discord.SelectOption] | None = None):
        options = options or [discord.SelectOption(label="…", value="-")]
        super().__init__(discord.ui.Select(placeholder="Study a next topic…", options=options,
                                           custom_id=f"sb:next:{note_id}", min_values=1, max_values=1))
        self.note_id = note_id

    @classmethod
    async def from_custom_id(cls, interaction, item, match: re.Match[str]):
        return cls(match["note"])

    @reports_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        values = (interaction.data or {}).get("values") or []
        if not values:
            return await interaction.response.defer()
        services = services_of(interaction)
        note = note_or_error(interaction, values[0])
        view = discord.ui.View(timeout=None)
        view.add_item(DetailButton(note.id))
        await interaction.response.send_message(embed=note_embed(note, services.corpus(interaction.guild_id)), view=view,
                                                ephemeral=True, allowed_mentions=NONE)
        await services.record_study(interaction, note.id, "opened")


class FeedbackModal(discord.ui.Modal, title="What was wrong with this answer?"):
    """An optional reason for a 👎."""

    reason = discord.ui.TextInput(label="Reason (optional)", style=discord.TextStyle.paragraph, required=False,
                                  max_length=500, placeholder="e.g. it answered a different question",
                                  custom_id="sb:fb:reason")

    def __init__(self, question_id: int):
        super().__init__(timeout=600, custom_id=f"sb:fbmodal:{question_id}")
        self.question_id = question_id

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await services_of(interaction).record_feedback(interaction, self.question_id, False,
                                                       self.reason.value.strip() or None)
        await interaction.response.send_message("Thanks: your 👎 and reason were recorded; moderators review them.",
                                                ephemeral=True, allowed_mentions=NONE)

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        await send_error(interaction, error)


class FeedbackButton(discord.ui.DynamicItem[discord.ui.Button], template=r"sb:fb:(?P<vote>up|down):(?P<qid>\d+)"):
    """👍 records at once; 👎 asks an optional reason in a modal. The custom_id carries the logged question."""

    def __init__(self, vote: str, question_id: int):
        super().__init__(discord.ui.Button(emoji="👍" if vote == "up" else "👎", style=discord.ButtonStyle.secondary,
                                           custom_id=f"sb:fb:{vote}:{question_id}"))
        self.vote = vote
        self.question_id = question_id

    @classmethod
    async def from_custom_id(cls, interaction, item, match: re.Match[str]):
        return cls(match["vote"], int(match["qid"]))

    @reports_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        if self.vote == "down":
            return await interaction.response.send_modal(FeedbackModal(self.question_id))
        await services_of(interaction).record_feedback(interaction, self.question_id, True, None)
        await interaction.response.send_message("Thanks for the 👍!", ephemeral=True, allowed_mentions=NONE)


DYNAMIC_ITEMS = (DetailButton, NextTopicSelect, FeedbackButton)


def answer_view(answer: Answer, question_id: int | None) -> discord.ui.View | None:
    """The components under an answer (none for a refusal)."""
    if not answer.answered or not answer.best:
        return None
    view = discord.ui.View(timeout=None)
    best = answer.best.id
    view.add_item(DetailButton(best))
    options = [
        discord.SelectOption(label=clean_cut(t.title, SELECT_LABEL_MAX), value=t.id,
                             description=clean_cut(t.reason, SELECT_DESCRIPTION_MAX))
        for t in answer.next_topics[:25]
    ]
    if options:
        view.add_item(NextTopicSelect(best, options))
    if question_id is not None:
        view.add_item(FeedbackButton("up", question_id))
        view.add_item(FeedbackButton("down", question_id))
    return view
