"""Embeds for moderator replies."""

from __future__ import annotations

from collections import Counter

import discord

from bot.discord.text import DESCRIPTION_MAX, clean_cut
from bot.knowledge.notes import DISCIPLINE_LABELS


def refresh_embed(title: str, report, elapsed: float) -> discord.Embed:
    b = report.build
    lines = [
        f"**Added:** {', '.join(b.added) or 'none'}",
        f"**Changed:** {', '.join(b.changed) or 'none'}",
        f"**Removed:** {', '.join(b.removed) or 'none'}",
        f"{report.notes} notes, {report.chunks} chunks; {b.embedded} chunk(s) embedded, {b.reused} reused.",
        f"Took {elapsed:.2f} s. Questions were answered from the previous index meanwhile.",
    ]
    return discord.Embed(title=clean_cut(title, 256), description=clean_cut("\n".join(lines), DESCRIPTION_MAX),
                         colour=discord.Colour.green())


def problems_embed(problems, title: str = "The corpus has problems; nothing was changed") -> discord.Embed:
    text = "\n".join(str(p) for p in problems[:30])
    more = f"\n… and {len(problems) - 30} more" if len(problems) > 30 else ""
    body = f"The index that is serving stays as it was.\n```\n{clean_cut(text, 3500)}{more}\n```"
    return discord.Embed(title=clean_cut(title, 256), description=body, colour=discord.Colour.red())


def stats_embed(state, answered: int, unanswered: int) -> discord.Embed:
    corpus, manifest = state.corpus, state.loaded.manifest
    counts = Counter(n.discipline for n in corpus.notes.values())
    per = "\n".join(f"{DISCIPLINE_LABELS.get(d, d)}: {c}" for d, c in sorted(counts.items()))
    e = discord.Embed(title="Corpus stats", colour=discord.Colour.blurple())
    e.add_field(name=f"{len(corpus.notes)} notes", value=per or "none", inline=True)
    e.add_field(name="Index", value=f"{manifest.chunk_count} chunks\n{manifest.index_type}\nmodel `{manifest.model}`\n"
                                    f"built {manifest.built_at}", inline=True)
    total = answered + unanswered
    rate = f" ({answered / total:.0%} answered)" if total else ""
    e.add_field(name="Questions here", value=f"{answered} answered, {unanswered} not in my notes{rate}", inline=False)
    return e


_VERBS = {"added": "added", "replaced": "replaced", "removed": "removed", "hidden": "hidden", "unhidden": "shown again"}


def change_embed(change) -> discord.Embed:
    """The reply to a change of this server's notes."""
    what = f"**{clean_cut(change.title, 200)}** (`{change.note_id}`) {_VERBS.get(change.action, change.action)} " \
           "in this server only; other servers are not affected."
    lines = [what]
    if change.action in ("added", "replaced") and change.overrides_base:
        lines.append("It replaces the base note with the same id here.")
    if change.action == "removed" and change.overrides_base:
        lines.append("The base note with this id is shown here again.")
    lines.append(f"Re-indexed this server in {change.seconds:.2f} s ({change.embedded} passage(s) embedded).")
    return discord.Embed(title="Server notes updated", description=clean_cut("\n".join(lines), DESCRIPTION_MAX),
                         colour=discord.Colour.green())


def listing_embed(listing) -> discord.Embed:
    """This server's own notes and the base notes it hides."""
    notes = [f"`{n.id}` {clean_cut(n.title, 80)}" + (" (replaces the base note)" if n.overrides_base else "")
             for n in listing.notes]
    hidden = [f"`{nid}` {clean_cut(title, 80)}" for nid, title in listing.hidden]
    body = [f"**Own notes ({len(listing.notes)} of {listing.limit})**", *(notes or ["none"]),
            "", f"**Hidden base notes ({len(listing.hidden)})**", *(hidden or ["none"])]
    return discord.Embed(title="This server's notes", description=clean_cut("\n".join(body), DESCRIPTION_MAX),
                         colour=discord.Colour.blurple())
