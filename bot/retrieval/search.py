"""Search the index: dense (FAISS), lexical (BM25 via bm25s) and their fusion, ranked per note."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

import re
from functools import lru_cache

import bm25s
import faiss
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

from bot.retrieval.chunking import OVERVIEW
from bot.retrieval.index import LoadedIndex
from bot.retrieval.question import QuestionReader, Speller

Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "bm25")
DENSE_CANDIDATES = 100
SMALL_SEARCH = 64  # up to this many query vectors, FAISS searches on the calling thread alone
# Fusion: a note's best chunk cosine plus a share of its BM25 score (normalised by the question's best).
# Fitted on eval/dev.jsonl and eval/real.jsonl together; it beat reciprocal-rank fusion on both (EVALUATION.md).
LEXICAL_WEIGHT = 0.2
# Only the best notes are ever shown, so only they get their best passage picked (the rest: their first).
PASSAGE_NOTES = 10


_WORD = re.compile(r"(?u)\b\w\w+\b")
_STOPWORDS = frozenset(STOPWORDS_EN)
_STEMMER = Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _STEMMER.stemWord(word)


# bm25s's own tokenizer (bm25s.tokenize, or bm25s.tokenization.Tokenizer, with this stemmer and stopwords="en")
# gives identical tokens on every shipped chunk and every dev/real question, and indexes the chunks a little
# faster (0.72-0.93x the time), but one question at a time it is 8.5-10x slower (~38 us vs ~4 us a question:
# bm25s.tokenize rebuilds its stop-word set per call; a Tokenizer also grows its vocabulary with every new
# question word). Kept for that; measured with benchmarks/tokenizer_bench.py, see docs/BENCHMARKS.md.
def lexical_tokens(text: str) -> list[str]:
    """Lower-cased, stop-word-free, Snowball-stemmed words (the same for chunks and questions)."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]


@lru_cache(maxsize=50_000)
def _chunk_tokens(text: str) -> tuple[str, ...]:
    """Chunk texts repeat across reloads; tokenize each once."""
    return tuple(lexical_tokens(text))


_CODE_WORDS = frozenset("self none true false return import from def class print def args kwargs len range "
                        "numpy torch tensor shape dtype float int str list dict".split())


def word_counts(chunks) -> dict[str, int]:
    """How often each word of four letters or more occurs in the chunks (the speller's targets)."""
    counts: dict[str, int] = defaultdict(int)
    for c in chunks:
        for w in re.findall(r"[a-z]{4,}", c.lexical_text.lower()):
            counts[w] += 1
    return counts


def speller_targets(counts: dict[str, int]) -> dict[str, int]:
    """Corpus words a typo may be corrected to (stop words and code words are never targets)."""
    return {w: n for w, n in counts.items() if w not in _STOPWORDS and w not in _CODE_WORDS}


def _speller(chunks, general_words: frozenset[str]) -> Speller:
    """Typo correction towards the corpus's own words; anything the corpus or the model knows is kept."""
    return Speller(known=general_words | _STOPWORDS | _CODE_WORDS, targets=speller_targets(word_counts(chunks)))


@dataclass(frozen=True)
class ChunkHit:
    chunk_id: int
    score: float


@dataclass(frozen=True)
class NoteHit:
    """One note's standing for a question. `score` orders notes; `dense` is the best chunk cosine."""

    note_id: str
    score: float
    dense: float
    lexical: float  # best chunk BM25 score divided by the best over all chunks for this question (0..1)
    passage_chunk: int  # chunk id of the passage to show (best-matching for the top PASSAGE_NOTES notes)


@dataclass(frozen=True)
class NoteScores:
    """One retriever's view of a question: per-note dense cosine and lexical score (0..1 of its own best)."""

    retriever: "Retriever"
    dense_chunk: dict[int, float]
    note_dense: dict[str, float]
    note_lex: dict[str, float]
    lex: np.ndarray
    top_lex: float
    floor: float  # the dense score given to a note found only lexically


def fuse(parts: list[NoteScores], mode: Mode = "hybrid") -> list[NoteHit]:
    """One ranking of the notes of several retrievers (the shared base and a server's own index).

    Cosines compare across indexes (one model), so the dense ranking is over the union. BM25 scores do not
    (each index has its own document frequencies), so each part's lexical scores are already divided by its
    own best, as a shard-merging search engine normalises per shard. A note id belongs to one part only.
    """
    owner: dict[str, NoteScores] = {}
    note_dense: dict[str, float] = {}
    note_lex: dict[str, float] = {}
    for part in parts:
        for nid in (*part.note_dense, *part.note_lex):
            owner.setdefault(nid, part)
        note_dense.update(part.note_dense)
        note_lex.update(part.note_lex)

    def dense_of(nid: str) -> float:
        return note_dense.get(nid, owner[nid].floor)

    if mode == "dense":
        fused = dict(note_dense)
    elif mode == "bm25":
        fused = dict(note_lex)
    else:
        fused = {nid: dense_of(nid) + LEXICAL_WEIGHT * note_lex.get(nid, 0.0) for nid in owner}

    order = sorted(fused, key=lambda nid: (-fused[nid], -dense_of(nid), nid))
    return [NoteHit(nid, float(fused[nid]), dense_of(nid), note_lex.get(nid, 0.0),
                    owner[nid].retriever.passage(nid, owner[nid], i < PASSAGE_NOTES))
            for i, nid in enumerate(order)]


class Retriever:
    """Ranks notes for questions over one LoadedIndex. Immutable once built; safe to share across threads."""

    def __init__(self, loaded: LoadedIndex, general_words: frozenset[str] = frozenset(),
                 reader: QuestionReader | None = None):
        self.loaded = loaded
        self.chunks = loaded.chunks
        self._note_chunks: dict[str, list[int]] = defaultdict(list)
        for i, c in enumerate(self.chunks):
            self._note_chunks[c.note_id].append(i)
        self._note_ids = list(self._note_chunks)
        index_of = {nid: i for i, nid in enumerate(self._note_ids)}
        self._chunk_note = np.array([index_of[c.note_id] for c in self.chunks], dtype=np.int64)
        # Passages worth showing: explanation sections, not the overview (a note's summary).
        self._passages = {nid: [c for c in ids if self.chunks[c].heading != OVERVIEW] or ids
                          for nid, ids in self._note_chunks.items()}
        self._vocab: dict[str, int] = {}
        corpus_ids = [[self._vocab.setdefault(t, len(self._vocab)) for t in _chunk_tokens(c.lexical_text)]
                      for c in self.chunks]
        self._bm25 = bm25s.BM25()
        self._bm25.index(bm25s.tokenization.Tokenized(ids=corpus_ids, vocab=self._vocab), show_progress=False)
        self.reader = reader or QuestionReader(_speller(self.chunks, general_words))

    def read(self, question: str) -> str:
        """The text of a learner's post that retrieval reads (see bot.retrieval.question)."""
        return self.reader.read(question)

    def dense_chunks(self, query_vectors: np.ndarray, k: int = DENSE_CANDIDATES) -> list[list[ChunkHit]]:
        """Top-k chunks by cosine for each query vector, best first (FAISS inner product on unit vectors)."""
        k = min(k, self.loaded.faiss_index.ntotal)
        if k == 0:
            return [[] for _ in range(len(query_vectors))]
        threads = faiss.omp_get_max_threads()
        if len(query_vectors) <= SMALL_SEARCH:
            # One thread for a few queries (an OpenMP setting of the calling thread): a parallel region on a
            # busy 2-core machine waits for a descheduled thread, 14 ms p50 instead of 0.3 ms (onnx_bench).
            faiss.omp_set_num_threads(1)
        try:
            scores, ids = self.loaded.faiss_index.search(np.ascontiguousarray(query_vectors, dtype=np.float32), k)
        finally:
            faiss.omp_set_num_threads(threads)
        return [[ChunkHit(int(i), float(s)) for s, i in zip(row_s, row_i) if i >= 0] for row_s, row_i in zip(scores, ids)]

    def coverage(self, reading: str, also: Retriever | None = None) -> float:
        """Share of the question's content words found in these notes (or `also`'s); 1.0 for no words."""
        tokens = lexical_tokens(reading)
        found = sum(t in self._vocab or (also is not None and t in also._vocab) for t in tokens)
        return found / len(tokens) if tokens else 1.0

    def lexical_scores(self, question: str) -> np.ndarray:
        """BM25 score of every chunk for a question."""
        ids = [self._vocab[t] for t in lexical_tokens(question) if t in self._vocab]
        if not ids:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(ids), dtype=np.float32)

    def scores(self, question: str, query_vector: np.ndarray, mode: Mode = "hybrid",
               dense_hits: list[ChunkHit] | None = None, exclude: frozenset[str] = frozenset()) -> NoteScores:
        """Per-note dense and lexical standing for one question; notes in `exclude` are left out."""
        if dense_hits is None:
            dense_hits = self.dense_chunks(query_vector[None, :])[0]
        dense_chunk = {h.chunk_id: h.score for h in dense_hits}
        if exclude:
            dense_chunk = {cid: s for cid, s in dense_chunk.items() if self.chunks[cid].note_id not in exclude}
        floor = min(dense_chunk.values()) if dense_chunk else 0.0
        note_dense: dict[str, float] = {}
        for cid, score in dense_chunk.items():
            nid = self.chunks[cid].note_id
            note_dense[nid] = max(note_dense.get(nid, -1.0), score)

        lex = self.lexical_scores(question) if mode != "dense" else np.zeros(len(self.chunks), np.float32)
        if exclude and len(lex):
            dropped = [i for i, nid in enumerate(self._note_ids) if nid in exclude]
            if dropped:
                lex = np.where(np.isin(self._chunk_note, dropped), np.float32(0), lex)
        top_lex = float(lex.max()) if len(lex) else 0.0
        note_lex: dict[str, float] = {}
        if top_lex > 0:
            best = np.zeros(len(self._note_ids), dtype=np.float32)
            np.maximum.at(best, self._chunk_note, lex)
            note_lex = {self._note_ids[i]: float(best[i]) / top_lex for i in np.flatnonzero(best)}
        return NoteScores(self, dense_chunk, note_dense, note_lex, lex, top_lex, floor)

    def rank(self, question: str, query_vector: np.ndarray, mode: Mode = "hybrid",
             dense_hits: list[ChunkHit] | None = None) -> list[NoteHit]:
        """All candidate notes for one question, best first."""
        return fuse([self.scores(question, query_vector, mode, dense_hits)], mode)

    def passage(self, note_id: str, scores: NoteScores, best: bool) -> int:
        """The chunk id to show for a note: its best-matching explanation, or simply its first one."""
        if not best:
            return self._passages[note_id][0]
        return self._best_passage(note_id, scores.dense_chunk, scores.lex, scores.top_lex)

    def _best_passage(self, note_id: str, dense_chunk: dict[int, float], lex: np.ndarray, top_lex: float) -> int:
        """The explanation chunk of a note that best matches: dense cosine plus a share of BM25."""
        candidates = self._passages[note_id]

        def score(cid: int) -> float:
            lexical = float(lex[cid]) / top_lex if top_lex > 0 else 0.0
            return dense_chunk.get(cid, -1.0) + 0.3 * lexical

        return max(candidates, key=score)
