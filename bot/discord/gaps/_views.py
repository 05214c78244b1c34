"""Buttons of the gap report: ◀ ▶ pages and "Draft a note". Persistent DynamicItems: the report is rebuilt from
what the custom_id carries (days, min_count, page; or a question of the group), so a button never expires."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

import discord

from bot.discord.corpus_admin._cog import is_moderator
from bot.discord.errors import reports_errors
from bot.discord.gaps._render import draft_text, gap_embed, page_count, page_groups
from bot.insights.draft import draft_note

if TYPE_CHECKING:  # pragma: no cover
    from bot.insights.gaps import GapReport, GapService

def service_of(interaction: discord.Interaction) -> "GapService":
    return interaction.client.get_cog("Gaps").service  # type: ignore[union-attr]


class GapPageButton(discord.ui.DynamicItem[discord.ui.Button],
                    template=r"sb:gap:pg:(?P<days>\d+):(?P<min>\d+):(?P<page>\d+):(?P<slot>prev|next)"):
    """◀ / ▶: the report page `page` (recomputed, so it shows the questions logged since)."""

    def __init__(self, days: int, min_count: int, page: int, slot: str, disabled: bool = False):
        super().__init__(discord.ui.Button(emoji="◀" if slot == "prev" else "▶", style=discord.ButtonStyle.secondary,
                                           disabled=disabled, custom_id=f"sb:gap:pg:{days}:{min_count}:{page}:{slot}"))
        self.days, self.min_count, self.page = days, min_count, page

    @classmethod
    async def from_custom_id(cls, interaction, item, match: re.Match[str]):
        return cls(int(match["days"]), int(match["min"]), int(match["page"]), match["slot"])

    @reports_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        await is_moderator(interaction)
        await interaction.response.defer()  # clustering may take longer than Discord's 3 s
        report = await service_of(interaction).report(interaction.guild_id, self.days, self.min_count)
        page = max(0, min(self.page, page_count(report) - 1))
        await interaction.edit_original_response(embed=gap_embed(report, page), view=gap_view(report, page))


class DraftButton(discord.ui.DynamicItem[discord.ui.Button], template=r"sb:gap:draft:(?P<days>\d+):(?P<key>\d+)"):
    """"Draft a note" for one group, found again by one of its questions."""

    def __init__(self, days: int, key: int, rank: int = 0):
        label = f"Draft a note ({rank})" if rank else "Draft a note"
        super().__init__(discord.ui.Button(label=label, emoji="📝", style=discord.ButtonStyle.primary,
                                           custom_id=f"sb:gap:draft:{days}:{key}"))
        self.days, self.key = days, key

    @classmethod
    async def from_custom_id(cls, interaction, item, match: re.Match[str]):
        return cls(int(match["days"]), int(match["key"]))

    @reports_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        await is_moderator(interaction)
        await interaction.response.defer(thinking=True, ephemeral=True)
        report = await service_of(interaction).report(interaction.guild_id, self.days, 1)
        group = report.group(self.key)
        filename, text = draft_note(group, self.days)
        await interaction.followup.send(draft_text(group, filename), file=discord.File(io.BytesIO(text.encode()),
                                                                                         filename),
                                        ephemeral=True)


DYNAMIC_ITEMS = (GapPageButton, DraftButton)


def gap_view(report: "GapReport", page: int) -> discord.ui.View | None:
    """A Draft button per group on the page, then ◀ ▶ when there is more than one page."""
    view = discord.ui.View(timeout=None)
    for rank, group in page_groups(report, page):
        view.add_item(DraftButton(report.days, group.key, rank))
    count = page_count(report)
    if count > 1:
        for slot, target in (("prev", page - 1), ("next", page + 1)):
            edge = page == 0 if slot == "prev" else page >= count - 1
            view.add_item(GapPageButton(report.days, report.min_count, max(0, min(target, count - 1)), slot, edge))
    return view if view.children else None
