"""Embeds for answers and notes. Pure functions of domain values."""

from __future__ import annotations

import discord

from bot.discord.text import (
    DESCRIPTION_MAX,
    EMBED_TOTAL_MAX,
    FIELD_VALUE_MAX,
    FOOTER_MAX,
    TITLE_MAX,
    clean_cut,
    neutralise_mentions,
    pages,
)
from bot.knowledge.corpus import Corpus
from bot.knowledge.notes import DISCIPLINE_LABELS, Note
from bot.knowledge.route import Route
from bot.retrieval.answering import Answer, NextTopic
from bot.retrieval.question import strip_markup

ANSWER_COLOUR = discord.Colour.blurple()
UNANSWERED_COLOUR = discord.Colour.gold()
NOTE_COLOUR = discord.Colour.teal()
PASSAGE_MAX = 1800  # a chat answer, not a wall: the full note is one click away
QUESTION_FOOTER_PREFIX = "You asked: "


def label(discipline: str) -> str:
    return DISCIPLINE_LABELS.get(discipline, discipline)


def topic_lines(topics: tuple[NextTopic, ...] | list[NextTopic]) -> str:
    return "\n".join(f"• **{t.title}** ({label(t.discipline)}): {t.reason}" for t in topics)


def fit(embed: discord.Embed) -> discord.Embed:
    """Shrink the description until the whole embed is within Discord's 6000-character total."""
    over = len(embed) - EMBED_TOTAL_MAX
    if over > 0 and embed.description:
        embed.description = clean_cut(embed.description, max(200, len(embed.description) - over - 10))
    return embed


def answer_embed(answer: Answer) -> discord.Embed:
    """The answer card: best passage, sources, next topics; the question (without markup) in the footer."""
    shown = " ".join(strip_markup(answer.question).split()) or answer.question  # footers show markup raw
    footer = clean_cut(QUESTION_FOOTER_PREFIX + neutralise_mentions(shown), FOOTER_MAX)
    if not answer.answered:
        closest = ", ".join(f"**{t.title}**" for t in answer.closest) or "nothing close"
        embed = discord.Embed(
            title="That's not in my notes",
            description=("I only answer from the study notes, and none of them covers this, so I won't guess.\n\n"
                         f"The closest topics I do have: {closest}. Try `/topic` to browse them."),
            colour=UNANSWERED_COLOUR,
        )
        return embed.set_footer(text=footer)
    best = answer.results[0]
    embed = discord.Embed(
        title=clean_cut(f"{best.title}", TITLE_MAX),
        description=clean_cut(best.text, min(PASSAGE_MAX, DESCRIPTION_MAX)),
        colour=ANSWER_COLOUR,
    )
    sources = "\n".join(f"**{r.title}** · {label(r.discipline)} · `{r.path}`" for r in answer.results)
    embed.add_field(name="Sources", value=clean_cut(sources, FIELD_VALUE_MAX), inline=False)
    for r in answer.results[1:]:
        embed.add_field(name=clean_cut(f"Also relevant: {r.title}", 256),
                        value=clean_cut(r.text, 300), inline=False)
    if answer.next_topics:
        embed.add_field(name="Next topics", value=clean_cut(topic_lines(answer.next_topics), FIELD_VALUE_MAX),
                        inline=False)
    embed.set_footer(text=footer)
    return fit(embed)


def note_embed(note: Note, corpus: Corpus, intro_only: bool = True) -> discord.Embed:
    """A topic card: summary, the intuition, prerequisites and what it leads to."""
    intuition = note.section("Intuition")
    body = note.summary + ("\n\n" + intuition.text if intuition and intro_only else "")
    embed = discord.Embed(title=clean_cut(note.title, TITLE_MAX), description=clean_cut(body, PASSAGE_MAX),
                          colour=NOTE_COLOUR)
    embed.add_field(name="Discipline", value=f"{label(note.discipline)} · {note.level}", inline=True)
    prereqs = [corpus.notes[p].title for p in corpus.graph.prerequisites_of(note.id) if p in corpus.notes]
    nxt = [corpus.notes[n].title for n in corpus.graph.next_topics(note.id) if n in corpus.notes]
    if prereqs:
        embed.add_field(name="Learn first", value=clean_cut(", ".join(prereqs), FIELD_VALUE_MAX), inline=False)
    if nxt:
        embed.add_field(name="Leads to", value=clean_cut(", ".join(nxt), FIELD_VALUE_MAX), inline=False)
    embed.set_footer(text=f"source: {note.path}")
    return fit(embed)


def note_pages(note: Note) -> list[discord.Embed]:
    """The full note as one or more embeds (for "More detail")."""
    texts = pages(note.full_text(), DESCRIPTION_MAX - 200)
    out = []
    for i, text in enumerate(texts, start=1):
        e = discord.Embed(title=clean_cut(note.title, TITLE_MAX), description=text, colour=NOTE_COLOUR)
        e.set_footer(text=f"page {i}/{len(texts)} · {label(note.discipline)} · {note.path}")
        out.append(e)
    return out


def suggestions_embed(title: str, topics: list[NextTopic], empty: str) -> discord.Embed:
    embed = discord.Embed(title=clean_cut(title, TITLE_MAX), colour=NOTE_COLOUR,
                          description=clean_cut(topic_lines(topics), DESCRIPTION_MAX) if topics else empty)
    return embed


PATH_PAGE_STEPS = 20  # a route's lines per page: ~80 characters each, far below the 4,096 of a description


def path_pages(corpus: Corpus, route: Route, known: frozenset[str], in_dm: bool = False) -> list[discord.Embed]:
    """A learning route as pages of numbered steps, the target on the last page."""
    target = corpus.notes[route.target]
    lines = []
    for i, nid in enumerate(route.steps, start=1):
        n = corpus.notes[nid]
        mark = "🎯" if nid == target.id else ("✅" if nid in known else "▫️")
        lines.append(f"{i}. {mark} **{clean_cut(n.title, 100)}** · {label(n.discipline)}")
    chunks = [lines[i:i + PATH_PAGE_STEPS] for i in range(0, len(lines), PATH_PAGE_STEPS)] or [[]]
    topics = f"{route.needed} topic{'s' if route.needed != 1 else ''}"
    if route.needed == 0:
        kind = "Nothing to learn first: you can start right away."
    elif route.full:
        kind = f"Every prerequisite you still need: {topics}, grouped by discipline where the order allows."
    elif len(route.steps) - 1 < route.needed:
        kind = (f"The essential route: the longest chain of prerequisites you still need, and what "
                f"**{clean_cut(target.title, 80)}** builds on directly: {len(route.steps) - 1} of the {topics} "
                f"it needs. For all of them, run `/path` with `full: True`.")
    else:
        kind = f"Everything you still need: {topics}."
    notes = [kind]
    if route.skipped:
        notes.append(f"Skipped {route.mastered_skipped} topic{'s' if route.mastered_skipped != 1 else ''} you've "
                     f"mastered" + (f" and {route.covered_skipped} only they lead to" if route.covered_skipped else "")
                     + ".")
    if in_dm:
        notes.append("-# Your progress is kept per server: in a server, `/path` skips what you've mastered there.")
    head = "\n".join(notes)
    counts = " · ".join(f"{label(d)} {n}" for d, n in route.by_discipline)
    title = clean_cut(f"Path to {target.title}" + (" (everything)" if route.full else ""), TITLE_MAX)
    out = []
    for page, chunk in enumerate(chunks, start=1):
        embed = discord.Embed(title=title, colour=NOTE_COLOUR,
                              description=clean_cut(f"{head}\n\n" + "\n".join(chunk), DESCRIPTION_MAX))
        if route.full and counts:
            embed.add_field(name="Per discipline", value=clean_cut(counts, FIELD_VALUE_MAX), inline=False)
        more = f"page {page}/{len(chunks)} · " if len(chunks) > 1 else ""
        embed.set_footer(text=f"{more}{len(route.steps)} step{'s' if len(route.steps) != 1 else ''}, each after "
                              "its prerequisites · ✅ mastered · 🎯 your target")
        out.append(fit(embed))
    return out
