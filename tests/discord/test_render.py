"""Embeds stay within Discord's limits with a clean cut, whatever the note length."""

from __future__ import annotations

import re

import pytest

from bot.discord.asking._render import answer_embed, note_pages
from bot.discord.text import EMBED_TOTAL_MAX, clean_cut, pages
from bot.retrieval.answering import Answer, NextTopic, Result
from tests.notes_factory import note_text
from bot.knowledge.notes import parse_note


def test_clean_cut_ends_at_a_boundary_with_an_ellipsis():
    text = "First sentence here. " * 50
    cut = clean_cut(text, 100)
    assert len(cut) <= 100 and cut.endswith("…") and cut[:-1].endswith(".")
    assert clean_cut("short", 100) == "short"


def test_clean_cut_never_leaves_a_code_span_open():
    cut = clean_cut("see `" + "x" * 200 + "` done", 50)
    assert cut.count("`") % 2 == 0


def test_huge_answer_fits_every_limit():
    long = ("A long paragraph of explanation. " * 200 + "\n\n") * 5
    results = tuple(Result(f"n{i}", "T" * 300, "calculus", 0.9, long, f"corpus/calculus/n{i}.md", "Intuition")
                    for i in range(3))
    topics = tuple(NextTopic(f"t{i}", "Topic " * 20, "calculus", "builds on " + "x" * 200) for i in range(5))
    embed = answer_embed(Answer("q" * 1000, True, results, topics))
    assert len(embed) <= EMBED_TOTAL_MAX
    assert len(embed.title) <= 256 and len(embed.description) <= 4096
    assert all(len(f.value) <= 1024 and len(f.name) <= 256 for f in embed.fields)
    assert len(embed.footer.text) <= 2048


def test_long_note_is_paged_without_losing_text():
    body = "\n\n".join(f"Paragraph {i}: " + "words " * 150 for i in range(12))
    note = parse_note(note_text("long-note", intuition=body), "long-note.md").note
    embeds = note_pages(note)
    assert len(embeds) > 1 and all(len(e) <= EMBED_TOTAL_MAX for e in embeds)
    shown = [int(m) for e in embeds for m in re.findall(r"Paragraph (\d+):", e.description)]
    assert shown == list(range(12))  # every paragraph, once, in order: no page dropped or repeated
    assert [e.footer.text.split(" · ")[0] for e in embeds] == [f"page {i}/{len(embeds)}" for i in
                                                                 range(1, len(embeds) + 1)]


@pytest.mark.parametrize("sizes", [[150] * 12, [40, 900, 3, 2500, 60, 700], [5000], [10] * 300])
def test_pages_keep_every_word_in_order(sizes):
    """Joined back, the pages are the text: paragraphs split at boundaries, huge ones cut by sentences."""
    text = "\n\n".join(" ".join(f"w{i}x{j}." if j % 9 == 8 else f"w{i}x{j}" for j in range(n))
                       for i, n in enumerate(sizes))
    got = pages(text, 2000)
    assert all(len(p) <= 2000 for p in got)
    words = [w for p in got for w in p.replace("…", " ").split()]
    assert words == text.split()


def test_pages_split_at_paragraphs():
    text = "\n\n".join("p" * 900 for _ in range(6))
    assert all(len(p) <= 2000 for p in pages(text, 2000))


def test_a_long_route_is_paged_with_every_step_once_in_order():
    from bot.discord.asking._render import PATH_PAGE_STEPS, path_pages
    from bot.knowledge.route import Route
    from tests.study.test_map import synthetic_corpus

    corpus = synthetic_corpus(70)
    steps = tuple(sorted(corpus.notes))[: 3 * PATH_PAGE_STEPS + 5]
    route = Route(steps[-1], steps, True, len(steps) - 1, 0, 0, (("calculus", len(steps) - 1),))
    embeds = path_pages(corpus, route, frozenset())
    assert len(embeds) == 4
    numbers = [int(n) for e in embeds for n in re.findall(r"^(\d+)\. ", e.description, re.MULTILINE)]
    assert numbers == list(range(1, len(steps) + 1))
    assert all(len(e) <= EMBED_TOTAL_MAX for e in embeds) and "🎯" in embeds[-1].description
