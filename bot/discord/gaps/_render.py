"""Embeds of the gap report: a few groups per page, each as one field, within Discord's limits."""

from __future__ import annotations

import discord

from bot.discord.text import DESCRIPTION_MAX, FIELD_NAME_MAX, FIELD_VALUE_MAX, clean_cut, neutralise_mentions
from bot.insights.gaps import GapGroup, GapReport

GROUPS_PER_PAGE = 3


def page_count(report: GapReport) -> int:
    return max(1, -(-len(report.groups) // GROUPS_PER_PAGE))


def page_groups(report: GapReport, page: int) -> list[tuple[int, GapGroup]]:
    """(rank, group) on a page; ranks start at 1."""
    start = page * GROUPS_PER_PAGE
    return list(enumerate(report.groups, 1))[start:start + GROUPS_PER_PAGE]


def _quote(text: str, limit: int) -> str:
    return clean_cut(neutralise_mentions(text.replace("`", "'")), limit)


def group_field(rank: int, group: GapGroup) -> tuple[str, str]:
    """The name and value of one group's field."""
    kinds = ", ".join(part for part in (f"{group.refused} refused" if group.refused else "",
                                        f"{group.downvoted} rated 👎" if group.downvoted else "") if part)
    name = clean_cut(f"{rank}. {group.suggested_title}: {group.size} question(s) ({kinds})", FIELD_NAME_MAX)
    lines = [f"Suggested note: `{group.suggested_id}` ({group.discipline})"]
    lines += [f"• {_quote(q, 160)}" for q in group.examples]
    closest = ", ".join(f"`{c.note_id}` {c.score:.2f}" for c in group.closest)
    lines.append(f"Closest notes: {closest or 'none'}")
    if group.reasons:
        lines.append("👎 " + " | ".join(_quote(r, 120) for r in group.reasons[:3]))
    return name, clean_cut("\n".join(lines), FIELD_VALUE_MAX)


def gap_embed(report: GapReport, page: int) -> discord.Embed:
    """One page of the report."""
    count = page_count(report)
    header = (f"{report.considered} refused or 👎-rated question(s) of the last {report.days} days, in "
              f"{len(report.groups)} group(s) of at least {report.min_count}, largest first.")
    if report.smaller:
        header += f" {report.smaller} smaller group(s) not shown (lower `min_count` to see them)."
    if report.truncated:
        header += " Only the newest questions were considered."
    if not report.groups:
        header += ("\n\nNothing to report: every question in that window was answered and none was rated 👎."
                   if not report.smaller else "")
    else:
        header += "\n\nPress **Draft a note** for a Markdown draft to complete and `/corpus add`."
    embed = discord.Embed(title=f"Gaps in this server's notes ({report.days} days)",
                          description=clean_cut(header, DESCRIPTION_MAX), colour=discord.Colour.orange())
    for rank, group in page_groups(report, page):
        name, value = group_field(rank, group)
        embed.add_field(name=name, value=value, inline=False)
    if count > 1:
        embed.set_footer(text=f"Page {page + 1}/{count}")
    return embed


def draft_text(group: GapGroup, filename: str) -> str:
    return (f"A draft for `{group.suggested_id}` from {group.size} question(s). Replace every `<<FILL: …>>`, check "
            f"the id, title and discipline, then add it with `/corpus add` (attach `{filename}`).")
