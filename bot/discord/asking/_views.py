"""Components on an answer: More detail, a select of next topics, and 👍 / 👎 feedback; pagers of notes and routes.

They are DynamicItems: the state lives in the custom_id, so buttons never expire and keep working after a
restart (no view here has a timeout, so none can look live and then fail).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import discord

from bot.discord.services import services_of as services_of_client
from bot.discord.asking._render import note_embed, note_pages, path_pages
from bot.discord.errors import reports_errors, send_error
from bot.discord.text import SELECT_DESCRIPTION_MAX, SELECT_LABEL_MAX, clean_cut
from bot.errors import NotFound
from bot.knowledge.route import plan_route
from bot.retrieval.answering import Answer

if TYPE_CHECKING:  # pragma: no cover
    from bot.discord.app import Services


def services_of(interaction: discord.Interaction) -> "Services":
    return services_of_client(interaction.client)


def note_or_error(interaction: discord.Interaction, note_id: str):
    note = services_of(interaction).corpus(interaction.guild_id).get(note_id)
    if note is None:
        raise NotFound("That note is no longer in the corpus (a moderator may have removed it).")
    return note


PAGE_SLOTS = (("first", "⏮"), ("prev", "◀"), ("next", "▶"), ("last", "⏭"))


class PageButton(discord.ui.DynamicItem[discord.ui.Button],
                 template=r"sb:pg:(?P<kind>note|path|full):(?P<key>[a-z0-9-]+):(?P<page>\d+)"
                          r":(?P<slot>first|prev|next|last)"):
    """A pager button. Persistent: the pages are rebuilt from the custom_id (what, which note, which page), so a
    pager never expires and keeps working after a restart, where a stateful view would time out and then fail.

    Kinds: `note` (the full note of "More detail"), `path` and `full` (the short and full route of /path).
    """

    def __init__(self, kind: str, key: str, page: int, slot: str, disabled: bool = False):
        super().__init__(discord.ui.Button(emoji=dict(PAGE_SLOTS)[slot], style=discord.ButtonStyle.secondary,
                                           disabled=disabled, custom_id=f"sb:pg:{kind}:{key}:{page}:{slot}"))
        self.kind, self.key, self.page = kind, key, page

    @classmethod
    async def from_custom_id(cls, interaction, item, match: re.Match[str]):
        return cls(match["kind"], match["key"], int(match["page"]), match["slot"])

    @reports_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        pages = await pages_of(interaction, self.kind, self.key)
        page = max(0, min(self.page, len(pages) - 1))  # the pages may have changed since the button was made
        await interaction.response.edit_message(embed=pages[page], view=pager(self.kind, self.key, page, len(pages)))


def pager(kind: str, key: str, page: int, count: int) -> discord.ui.View | None:
    """⏮ ◀ ▶ ⏭ for page `page` of `count` (◀ ▶ only for two pages; nothing for one)."""
    if count <= 1:
        return None
    view = discord.ui.View(timeout=None)
    targets = {"first": 0, "prev": page - 1, "next": page + 1, "last": count - 1}
    for slot, _ in PAGE_SLOTS:
        if count == 2 and slot in ("first", "last"):
            continue
        at_edge = page == 0 if slot in ("first", "prev") else page >= count - 1
        view.add_item(PageButton(kind, key, max(0, min(targets[slot], count - 1)), slot, disabled=at_edge))
    return view


async def pages_of(interaction: discord.Interaction, kind: str, key: str) -> list[discord.Embed]:
    """The pages a pager shows, rebuilt for this click."""
    if kind == "note":
        return note_pages(note_or_error(interaction, key))
    return await route_pages(interaction, key, full=kind == "full")


async def route_pages(interaction: discord.Interaction, target: str, full: bool) -> list[discord.Embed]:
    """The learner's route to `target` (skipping what they mastered in this server), as pages."""
    services = services_of(interaction)
    note = note_or_error(interaction, target)
    known = await services.mastered(interaction.guild_id, interaction.user.id)
    corpus = services.corpus(interaction.guild_id)
    route = plan_route(corpus, note.id, known, full=full)
    return path_pages(corpus, route, known, in_dm=interaction.guild_id is None)


async def show_full_note(interaction: discord.Interaction, note_id: str) -> None:
    """Send the whole note, ephemeral and paged."""
    note = note_or_error(interaction, note_id)
    embeds = note_pages(note)
    view = pager("note", note.id, 0, len(embeds)) or discord.utils.MISSING
    await interaction.response.send_message(embed=embeds[0], view=view, ephemeral=True)
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
                                                ephemeral=True)
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
                                                ephemeral=True)

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
        await interaction.response.send_message("Thanks for the 👍!", ephemeral=True)


DYNAMIC_ITEMS = (DetailButton, NextTopicSelect, FeedbackButton, PageButton)


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
