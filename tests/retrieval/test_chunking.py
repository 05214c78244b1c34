"""Notes become one chunk per explanation section (plus an overview), each carrying its note's title."""

from __future__ import annotations

from bot.knowledge.corpus import load_corpus
from bot.retrieval.chunking import MAX_WORDS, OVERVIEW, _windows, chunk_note


def test_one_chunk_per_explanation_section_plus_overview(small_corpus):
    note = load_corpus(small_corpus).notes["chain-rule"]
    chunks = chunk_note(note)
    assert [c.heading for c in chunks] == [OVERVIEW, "Intuition", "Key formula", "Worked example",
                                           "Why it matters for deep learning"]
    assert all(c.note_id == "chain-rule" and c.title == "The chain rule" for c in chunks)
    assert all(c.embed_text.startswith("The chain rule") for c in chunks)
    assert "derivative of a composition" in chunks[0].embed_text  # aliases are searchable


def test_quiz_is_not_indexed(small_corpus):
    note = load_corpus(small_corpus).notes["chain-rule"]
    assert not any("Which option is right" in c.text for c in chunk_note(note))


def test_long_sections_are_windowed_by_paragraph():
    paragraph = " ".join(["word"] * 60)
    text = "\n\n".join([paragraph] * 7)  # 420 words
    windows = _windows(text)
    assert len(windows) >= 3
    assert all(len(w.split()) <= MAX_WORDS for w in windows)
    assert sum(len(w.split()) for w in windows) == 420


def test_chunk_key_changes_only_with_text(small_corpus):
    notes = load_corpus(small_corpus).notes
    a = chunk_note(notes["chain-rule"])
    b = chunk_note(notes["chain-rule"])
    assert [c.key for c in a] == [c.key for c in b]
    assert len({c.key for c in a}) == len(a)


def test_every_chunk_is_capped_by_tokens_whatever_the_note():
    from bot.knowledge.notes import NoteLimits, parse_note
    from bot.retrieval.chunking import MAX_CHUNK_TOKENS, _token_ends
    from tests.notes_factory import note_text

    unpunctuated = " ".join(f"word{i}" for i in range(3000))  # one paragraph, no sentence ends
    no_spaces = "z" * 100_000
    text = note_text("huge", example=unpunctuated, why=no_spaces, summary=" ".join(["long"] * 400))
    huge = 10**8
    note = parse_note(text, "huge.md", NoteLimits(huge, huge, huge)).note  # past the validator on purpose
    chunks = chunk_note(note)
    for c in chunks:
        assert all(len(_token_ends(t)) <= MAX_CHUNK_TOKENS for t in (c.text, c.embed_text, c.lexical_text))
        assert len(c.text) <= MAX_CHUNK_TOKENS * 64 + MAX_CHUNK_TOKENS
    example = [c.text for c in chunks if c.heading == "Worked example"]
    assert " ".join(example).split() == unpunctuated.split()  # split, nothing lost
    assert "".join(c.text for c in chunks if c.heading == "Why it matters for deep learning") == no_spaces


def test_the_cap_changes_no_chunk_of_the_shipped_corpus(monkeypatch):
    import bot.retrieval.chunking as chunking
    from tests.conftest import REPO

    notes = load_corpus(REPO / "corpus").notes.values()
    capped = [chunk_note.__wrapped__(n) for n in notes]
    monkeypatch.setattr(chunking, "cap_tokens", lambda chunks, *args, **kwargs: tuple(chunks))
    assert [chunk_note.__wrapped__(n) for n in notes] == capped  # a safety net only: real notes fit under it
