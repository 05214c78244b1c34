"""Per-server retrieval: the shared base index, plus a small in-memory index of a server's own notes.

A server with notes gets its own FAISS IndexFlatIP and BM25 over the chunks of its notes, built on first use
and kept in an LRU cache. Searching a server searches both and fuses them (`bot.retrieval.search.fuse`);
base notes the server hides or overrides are left out of the base hits. Vectors of server chunks are kept
by chunk text hash (in memory and in a small on-disk cache beside the base's), so a changed note costs only
the embedding of its own chunks and a restart embeds nothing.
"""

from __future__ import annotations

import threading
import time
from collections import ChainMap, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from bot.knowledge.corpus import Corpus
from bot.knowledge.overlay import ServerNotes, merge
from bot.retrieval.chunking import Chunk, chunk_note
from bot.retrieval.embedding import Embedder
from bot.retrieval.embedding_cache import EmbeddingCache
from bot.retrieval.index import FORMAT_VERSION, LoadedIndex, Manifest
from bot.retrieval.question import QuestionReader, Speller, _deletes
from bot.retrieval.search import ChunkHit, Mode, NoteHit, Retriever, fuse, speller_targets, word_counts

DEFAULT_CAPACITY = 64  # server indexes kept in memory (least recently used dropped first)
SERVER_CACHE_SUFFIX = "#server-notes"


class LayeredSpeller(Speller):
    """The base speller plus a server's own words: they are never "corrected" away and are targets too.

    The base's vocabulary is consulted, never copied: a server costs only its own words.
    """

    def __init__(self, base: Speller, targets: dict[str, int]):
        super().__init__((), targets)  # the deletes table of the server's words only
        self.base = base
        self.targets = ChainMap({w: base.targets.get(w, 0) + n for w, n in targets.items()}, base.targets)

    def _correct(self, word: str) -> str:
        lower = word.lower()
        if lower in self.known or lower in self.base.known or len(lower) < 5:
            return word
        deletes = set(_deletes(lower))
        candidates = {c for d in deletes for table in (self.base._by_delete, self._by_delete) for c in table.get(d, ())}
        candidates = {c for c in candidates if abs(len(c) - len(lower)) <= 1 and c[0] == lower[0]}
        if not candidates:
            return word
        return max(candidates, key=lambda c: (self.targets[c], c))


@dataclass(frozen=True)
class OwnIndex:
    """A server's own index: its chunks, their FAISS index and BM25 (inside a Retriever), and a reader."""

    version: str
    base: Retriever  # the base whose speller the reader extends
    retriever: Retriever
    reader: QuestionReader
    note_ids: frozenset[str]
    built_seconds: float
    embedded: int  # chunks that had to be embedded for this build


@dataclass(frozen=True)
class View:
    """What one server searches and shows. `own` is None for a server without notes (and in DMs)."""

    corpus: Corpus
    base: Retriever
    excluded: frozenset[str] = frozenset()
    own: OwnIndex | None = None

    def read(self, question: str) -> str:
        return (self.own.reader if self.own else self.base.reader).read(question)

    def coverage(self, reading: str) -> float:
        """Share of the question's content words found in the base notes or this server's own notes."""
        if self.own is None:
            return self.base.coverage(reading)
        return self.base.coverage(reading, also=self.own.retriever)

    def rank(self, reading: str, vector: np.ndarray, mode: Mode = "hybrid",
             base_dense: list[ChunkHit] | None = None) -> list[NoteHit]:
        parts = [self.base.scores(reading, vector, mode, base_dense, self.excluded)]
        if self.own is not None:
            parts.append(self.own.retriever.scores(reading, vector, mode))
        return fuse(parts, mode)

    def passage(self, hit: NoteHit) -> Chunk:
        source = self.own.retriever if self.own and hit.note_id in self.own.note_ids else self.base
        return source.chunks[hit.passage_chunk]


def _in_memory(chunks: list[Chunk], vectors: np.ndarray, model: str) -> LoadedIndex:
    dim = vectors.shape[1]
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if len(chunks):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.arange(len(chunks), dtype=np.int64))
    manifest = Manifest(FORMAT_VERSION, model, dim, "", len(chunks), {}, "", "FlatIP (server, in memory)")
    return LoadedIndex(manifest=manifest, faiss_index=index, chunks=chunks, path=Path("<memory>"))


class ServerIndexes:
    """Every server's notes (small, all in memory) and an LRU cache of their built indexes."""

    def __init__(self, embedder: Embedder, cache_dir: Path | None = None, capacity: int = DEFAULT_CAPACITY):
        self.embedder = embedder
        self.capacity = capacity
        self._servers: dict[int, ServerNotes] = {}
        self._built: OrderedDict[int, OwnIndex] = OrderedDict()
        self._vectors: dict[str, np.ndarray] | None = None
        self._disk = EmbeddingCache(cache_dir, embedder.name + SERVER_CACHE_SUFFIX) if cache_dir else None
        self._lock = threading.RLock()
        self._views: dict[int, tuple[Retriever, str, View]] = {}
        self._corpora: dict[int, tuple[Corpus, str, Corpus]] = {}

    # -- server notes ------------------------------------------------------------------------------------
    def notes_of(self, guild_id: int | None) -> ServerNotes | None:
        return None if guild_id is None else self._servers.get(guild_id)

    def set_notes(self, server: ServerNotes, base: Retriever | None = None) -> OwnIndex | None:
        """Install a server's notes. With `base` (the live retriever) its index is rebuilt now, re-embedding
        only chunks never seen before; otherwise it is dropped and built on next use."""
        with self._lock:
            if server.empty:
                self._servers.pop(server.guild_id, None)
            else:
                self._servers[server.guild_id] = server
            self._built.pop(server.guild_id, None)
            self._views.pop(server.guild_id, None)
            if base is not None and server.notes:
                return self._own(server, base)
            return None

    def guilds(self) -> list[int]:
        return sorted(self._servers)

    @property
    def cached(self) -> list[int]:
        """Guild ids whose index is built and in memory, least recently used first."""
        return list(self._built)

    def corpus(self, guild_id: int | None, base_corpus: Corpus) -> Corpus:
        """The notes one server sees (no index needed: for autocomplete, /topic, quizzes, the map)."""
        server = self.notes_of(guild_id)
        if server is None:
            return base_corpus
        with self._lock:
            hit = self._corpora.get(server.guild_id)
            if hit is not None and hit[0] is base_corpus and hit[1] == server.version:
                return hit[2]
            merged = merge(base_corpus, server)
            self._corpora[server.guild_id] = (base_corpus, server.version, merged)
            return merged

    # -- views -------------------------------------------------------------------------------------------
    def view(self, guild_id: int | None, base_corpus: Corpus, base: Retriever) -> View:
        """The corpus and search of one server (the base alone in DMs and for servers without notes)."""
        server = self.notes_of(guild_id)
        if server is None or guild_id is None:
            return View(base_corpus, base)
        with self._lock:
            hit = self._views.get(guild_id)
            if hit is not None and hit[0] is base and hit[1] == server.version:
                if guild_id in self._built:
                    self._built.move_to_end(guild_id)
                return hit[2]
            own = self._own(server, base) if server.notes else None
            view = View(self.corpus(guild_id, base_corpus), base, server.excluded_base(), own)
            self._views[guild_id] = (base, server.version, view)
            return view

    def _own(self, server: ServerNotes, base: Retriever) -> OwnIndex:
        built = self._built.get(server.guild_id)
        if built is not None and built.version == server.version and built.base is base:
            self._built.move_to_end(server.guild_id)
            return built
        started = time.perf_counter()
        chunks = [c for note in server.notes.values() for c in chunk_note(note)]
        vectors, embedded = self._vectors_for(chunks)
        speller = LayeredSpeller(base.reader.speller or Speller((), {}), speller_targets(word_counts(chunks)))
        reader = QuestionReader(speller)
        retriever = Retriever(_in_memory(chunks, vectors, self.embedder.name), reader=reader)
        own = OwnIndex(server.version, base, retriever, reader, frozenset(server.notes),
                       time.perf_counter() - started, embedded)
        self._built[server.guild_id] = own
        self._built.move_to_end(server.guild_id)
        while len(self._built) > self.capacity:
            evicted, _ = self._built.popitem(last=False)
            self._views.pop(evicted, None)
        return own

    def _vectors_for(self, chunks: list[Chunk]) -> tuple[np.ndarray, int]:
        if self._vectors is None:
            self._vectors = self._disk.load().entries if self._disk else {}  # verified entries only
        dim = self.embedder.dimension
        missing = list(dict.fromkeys(c.key for c in chunks if c.key not in self._vectors))
        if missing:
            by_key = {c.key: c for c in chunks}
            self._vectors.update(zip(missing, self.embedder.encode([by_key[k].embed_text for k in missing])))
            if self._disk is not None:
                self._disk.save(self._vectors, dim)
        if not chunks:
            return np.zeros((0, dim), np.float32), 0
        return np.stack([self._vectors[c.key] for c in chunks]).astype(np.float32), len(missing)


__all__ = ["LayeredSpeller", "OwnIndex", "ServerIndexes", "View"]
