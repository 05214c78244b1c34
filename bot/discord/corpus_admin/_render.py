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
