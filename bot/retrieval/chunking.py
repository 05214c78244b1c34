"""Split notes into retrieval chunks: one per `##` section (long sections in paragraph windows)."""

from __future__ import annotations

import hashlib
import re
from functools import cached_property, lru_cache
from dataclasses import dataclass, fields, replace

from bot.knowledge.notes import Note

# all-MiniLM-L6-v2 reads at most 256 word pieces; ~170 words of prose fits with the title prefix.
MAX_WORDS = 170
OVERVIEW = "Overview"
# A hard cap on every chunk, whatever composed it: the model reads 256 word pieces at most, and an unbounded
# chunk costs unbounded memory to embed and to show. A token here is a run of non-space characters, a run
# longer than MAX_TOKEN_CHARS counting (and cut) as several.
MAX_CHUNK_TOKENS = 256
MAX_TOKEN_CHARS = 64


@dataclass(frozen=True)
class Chunk:
    """One searchable passage. `key` identifies its embedded text (for the embedding cache)."""

    note_id: str
    title: str
    discipline: str
    heading: str
    text: str
    path: str
    embed_text: str
    lexical_text: str

    @cached_property
    def key(self) -> str:
        return hashlib.sha256(self.embed_text.encode("utf-8")).hexdigest()

    def to_json(self) -> dict:
        return {name: getattr(self, name) for name in _FIELDS}


_FIELDS = tuple(f.name for f in fields(Chunk))


def _windows(text: str, max_words: int = MAX_WORDS) -> list[str]:
    """Group paragraphs into windows of at most ~max_words words; a huge paragraph is cut by sentences."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    pieces: list[str] = []
    for p in paragraphs:
        if len(p.split()) <= max_words:
            pieces.append(p)
            continue
        sentences = re.split(r"(?<=[.!?])\s+", p)
        buf: list[str] = []
        for s in sentences:
            if buf and len(" ".join(buf + [s]).split()) > max_words:
                pieces.append(" ".join(buf))
                buf = []
            buf.append(s)
        if buf:
            pieces.append(" ".join(buf))
    windows: list[str] = []
    current: list[str] = []
    for piece in pieces:
        if current and len("\n\n".join(current + [piece]).split()) > max_words:
            windows.append("\n\n".join(current))
            current = []
        current.append(piece)
    if current:
        windows.append("\n\n".join(current))
    return windows


@lru_cache(maxsize=8192)
def chunk_note(note: Note) -> tuple[Chunk, ...]:
    """The chunks of one note: an overview (title, aliases, summary), then each explanation section.

    Every chunk's embedded text starts with the note title so a passage keeps its context; the lexical
    text repeats the title and aliases so that names learners type weigh more in BM25.
    """
    names = "; ".join(note.aliases)
    lexical_names = f"{note.title} {note.title} {' '.join(note.aliases)}"
    overview = f"{note.title}. Also called: {names}.\n{note.summary}" if names else f"{note.title}.\n{note.summary}"
    chunks = [
        Chunk(note.id, note.title, note.discipline, OVERVIEW, note.summary, note.path,
              embed_text=overview, lexical_text=f"{lexical_names} {lexical_names} {note.summary}")
    ]
    for section in note.explanation_sections:
        for window in _windows(section.text):
            chunks.append(
                Chunk(note.id, note.title, note.discipline, section.heading, window, note.path,
                      embed_text=f"{note.title} ({section.heading}): {window}",
                      lexical_text=f"{lexical_names} {section.heading} {window}")
            )
    return cap_tokens(chunks)


def _token_ends(text: str) -> list[int]:
    """The end offset of each token of `text` (see MAX_CHUNK_TOKENS)."""
    ends = []
    for m in re.finditer(r"\S+", text):
        ends.extend(range(m.start() + MAX_TOKEN_CHARS, m.end(), MAX_TOKEN_CHARS))
        ends.append(m.end())
    return ends


def _first_tokens(text: str, n: int) -> str:
    ends = _token_ends(text)
    return text if len(ends) <= n else text[:ends[n - 1]]


def cap_tokens(chunks: list[Chunk] | tuple[Chunk, ...], max_tokens: int = MAX_CHUNK_TOKENS) -> tuple[Chunk, ...]:
    """Every chunk at most `max_tokens` tokens: a longer one is split into consecutive pieces of its text.

    A piece keeps the chunk's composition: it replaces the text inside the embedded and lexical texts; if
    those do not contain the text verbatim, they are cut to the cap instead. Chunks within the cap are
    returned unchanged.
    """
    out: list[Chunk] = []
    for c in chunks:
        lengths = [len(_token_ends(t)) for t in (c.text, c.embed_text, c.lexical_text)]
        if max(lengths) <= max_tokens:
            out.append(c)
            continue
        # Leave room for what composition adds around the text (title, heading, names), but always progress.
        per_piece = max(max_tokens - max(lengths[1] - lengths[0], lengths[2] - lengths[0], 0), max_tokens // 2)
        ends = _token_ends(c.text)
        starts = [0] + ends[per_piece - 1:-1:per_piece]
        stops = ends[per_piece - 1::per_piece] + ([ends[-1]] if len(ends) % per_piece else [])
        for start, stop in zip(starts, stops):
            piece = c.text[start:stop].strip()
            out.append(replace(c, text=piece,
                               embed_text=_first_tokens(_swap(c.embed_text, c.text, piece), max_tokens),
                               lexical_text=_first_tokens(_swap(c.lexical_text, c.text, piece), max_tokens)))
    return tuple(out)


def _swap(composed: str, text: str, piece: str) -> str:
    return composed.replace(text, piece, 1) if text and text in composed else composed
