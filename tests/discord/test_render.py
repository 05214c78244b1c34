"""Embeds stay within Discord's limits with a clean cut, whatever the note length."""

from __future__ import annotations

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
    joined = " ".join(e.description for e in embeds)
    assert "Paragraph 0:" in joined and "Paragraph 11:" in joined
    assert embeds[-1].footer.text.startswith(f"page {len(embeds)}/{len(embeds)}")


def test_pages_split_at_paragraphs():
    text = "\n\n".join("p" * 900 for _ in range(6))
    assert all(len(p) <= 2000 for p in pages(text, 2000))
