"""The answering service: question in, an Answer value out. The CLI and the Discord cogs both call it."""

from __future__ import annotations

import threading
from pathlib import Path
import time
from dataclasses import dataclass, field

import numpy as np

from bot.config import Settings
from bot.errors import CorpusInvalid, IndexUnavailable, InvalidInput, StudybotError
from bot.knowledge.corpus import Corpus, load_corpus
from bot.knowledge.notes import LEVELS, Note
from bot.retrieval.embedding import Embedder, make_embedder
from bot.retrieval.gate import ANSWER_THRESHOLD, is_answerable, shown_hits
from bot.retrieval.index import BuildReport, IndexStore, LoadedIndex
from bot.retrieval.question import strip_markup
from bot.retrieval.search import NoteHit, Retriever
from bot.retrieval.tenancy import ServerIndexes, View

MAX_NEXT = 3
MAX_PREREQUISITES = 2


@dataclass(frozen=True)
class Result:
    """One note that answers the question, with its best-matching passage."""

    id: str
    title: str
    discipline: str
    score: float
    text: str
    path: str
    heading: str = ""

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in ("id", "title", "discipline", "score", "text", "path")}


@dataclass(frozen=True)
class NextTopic:
    """A suggested topic and why it is suggested. `kind` is 'next', 'prerequisite' or 'closest'."""

    id: str
    title: str
    discipline: str
    reason: str
    kind: str = "next"

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in ("id", "title", "discipline", "reason")}


@dataclass(frozen=True)
class Answer:
    """What studybot says to a question."""

    question: str
    answered: bool
    results: tuple[Result, ...]
    next_topics: tuple[NextTopic, ...]

    @property
    def best(self) -> Result | None:
        return self.results[0] if self.results else None

    @property
    def closest(self) -> tuple[NextTopic, ...]:
        return tuple(t for t in self.next_topics if t.kind == "closest")

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answered": self.answered,
            "results": [r.to_json() for r in self.results],
            "next_topics": [t.to_json() for t in self.next_topics],
        }


@dataclass(frozen=True)
class LiveState:
    """Everything one generation of the index serves from; swapped as a whole on refresh."""

    corpus: Corpus
    loaded: LoadedIndex
    retriever: Retriever
    loaded_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class RefreshReport:
    """What a refresh changed."""

    build: BuildReport
    notes: int
    chunks: int


def topics_after(corpus: Corpus, best: Note, known: frozenset[str] = frozenset(),
                 similarity: dict[str, float] | None = None) -> list[NextTopic]:
    """Notes that build on `best` (ready ones first), then its prerequisites the learner may lack."""
    graph = corpus.graph
    similarity = similarity or {}
    level_rank = {lvl: i for i, lvl in enumerate(LEVELS)}
    have = known | {best.id}

    def order(nid: str) -> tuple:
        n = corpus.notes[nid]
        missing = sum(1 for p in graph.prerequisites_of(nid) if p not in have)
        return (missing, level_rank.get(n.level, 9), -similarity.get(nid, 0.0), n.title)

    successors = sorted((n for n in graph.next_topics(best.id) if n not in known), key=order)[:MAX_NEXT]
    out = []
    for nid in successors:
        n = corpus.notes[nid]
        out.append(NextTopic(n.id, n.title, n.discipline, f"builds on {best.title}", "next"))
    prereqs = [p for p in graph.prerequisites_of(best.id) if p not in known]
    prereqs.sort(key=lambda p: (-similarity.get(p, 0.0), corpus.notes[p].title))
    for pid in prereqs[:MAX_PREREQUISITES]:
        p = corpus.notes[pid]
        out.append(NextTopic(p.id, p.title, p.discipline, f"needed first for {best.title}", "prerequisite"))
    return out


class AnswerService:
    """Loads the corpus and index, answers questions, and hot-swaps a rebuilt index on refresh."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None, store: IndexStore | None = None):
        self.settings = settings
        self.embedder = embedder or make_embedder(settings)  # Embedder or OnnxEmbedder: one interface
        self.store = store or IndexStore(settings.index_dir, ann_threshold=settings.ann_threshold,
                                         lock_timeout=settings.index_lock_timeout)
        self.threshold = settings.answer_threshold if settings.answer_threshold is not None else ANSWER_THRESHOLD
        self._state: LiveState | None = None
        self.corpus_problems: list = []  # problems of the files on disk while the last good index serves
        self._refresh_lock = threading.Lock()
        self._general_words: frozenset[str] | None = None
        self.servers = ServerIndexes(self.embedder, Path(settings.index_dir) / "cache", settings.server_index_cache)

    # -- lifecycle -----------------------------------------------------------------------------------
    def _retriever(self, loaded: LoadedIndex) -> Retriever:
        if self._general_words is None:
            self._general_words = self.embedder.word_list()
        return Retriever(loaded, self._general_words)

    @property
    def state(self) -> LiveState:
        if self._state is None:
            raise IndexUnavailable("studybot is still loading its notes; try again in a moment.")
        return self._state

    @property
    def corpus(self) -> Corpus:
        """The base corpus (what every server starts from; what DMs see)."""
        return self.state.corpus

    def corpus_for(self, guild_id: int | None) -> Corpus:
        """The notes a server sees: the base plus its own notes minus the ones it hides (DMs: the base)."""
        return self.servers.corpus(guild_id, self.state.corpus)

    def view(self, guild_id: int | None) -> View:
        """What a server searches: the shared base index and, when it has notes, its own index."""
        state = self.state
        return self.servers.view(guild_id, state.corpus, state.retriever)

    @property
    def ready(self) -> bool:
        return self._state is not None

    def ensure_ready(self, progress: bool = False) -> BuildReport | None:
        """Load the corpus and the index; build (incrementally) when missing, stale or unusable.

        If the notes on disk are broken but a good index exists, serve that index and its notes, and keep
        the problems in `corpus_problems` for the caller to report: a broken file never takes the bot down.
        """
        with self._refresh_lock:
            try:
                corpus = load_corpus(self.settings.corpus_dir, self.settings.note_limits)
            except CorpusInvalid as exc:
                try:
                    loaded = self.store.load(self.embedder.name, embedding=self.embedder.identity)
                    snapshot = loaded.corpus_snapshot()
                except IndexUnavailable:
                    raise exc from None
                self.corpus_problems = exc.problems
                self._state = LiveState(snapshot, loaded, self._retriever(loaded))
                return None
            self.corpus_problems = []
            if self.store.is_fresh(corpus, self.embedder.name, self.embedder.identity):
                try:
                    loaded = self.store.load(self.embedder.name, embedding=self.embedder.identity)
                    self._state = LiveState(corpus, loaded, self._retriever(loaded))
                    return None
                except IndexUnavailable:
                    pass  # damaged or mismatched: rebuild below, never serve it
            loaded, report = self.store.build(corpus, self.embedder, progress=progress)
            self._state = LiveState(corpus, loaded, self._retriever(loaded))
            return report if report.rebuilt else None

    def refresh(self, progress: bool = False) -> RefreshReport:
        """Re-read the corpus, rebuild what changed and swap it in. On any problem the serving state stays."""
        if not self._refresh_lock.acquire(timeout=600):
            raise StudybotError("Another refresh is still running; try again when it finishes.")
        try:
            corpus = load_corpus(self.settings.corpus_dir, self.settings.note_limits)  # CorpusInvalid: nothing swapped
            loaded, report = self.store.build(corpus, self.embedder, progress=progress)
            self._state = LiveState(corpus, loaded, self._retriever(loaded))  # one reference assignment: atomic
            return RefreshReport(report, len(corpus), len(loaded.chunks))
        finally:
            self._refresh_lock.release()

    # -- answering -----------------------------------------------------------------------------------
    def check_question(self, question: str) -> str:
        """The question without Discord markup, whitespace-normalised; InvalidInput when empty or too long."""
        q = " ".join(question.split())
        if q and not " ".join(strip_markup(q).split()):
            raise InvalidInput("I only see mentions, emoji or links there. Ask me a question in words, "
                               "e.g. 'why do we need the chain rule?'")
        if not q:
            raise InvalidInput("Ask me a question about the study topics, e.g. 'why do we need the chain rule?'")
        if len(q) > self.settings.max_question_chars:
            raise InvalidInput(f"That question is {len(q)} characters long; please keep it under "
                               f"{self.settings.max_question_chars} characters.")
        return q

    def answer(self, question: str, known: frozenset[str] = frozenset(), max_notes: int | None = None,
               guild_id: int | None = None) -> Answer:
        """Answer one question from what the server `guild_id` sees (None: the base corpus, as in DMs)."""
        return self.answer_many([question], known=known, max_notes=max_notes, guild_id=guild_id)[0]

    def answer_many(self, questions: list[str], known: frozenset[str] = frozenset(),
                    max_notes: int | None = None, guild_id: int | None = None) -> list[Answer]:
        """Answer several questions of one server with one batched embedding pass."""
        cleaned = [self.check_question(q) for q in questions]
        view = self.view(guild_id)  # one generation for the whole batch, even if a refresh swaps meanwhile
        readings = [view.read(q) for q in cleaned]
        return self._answer(view, cleaned, readings, self.embedder.encode(readings), known, max_notes)

    def reading(self, question: str, guild_id: int | None = None) -> str:
        """What retrieval reads of a checked question: markup, code, greetings and typos handled."""
        return self.view(guild_id).read(question)

    def answer_vectors(self, questions: list[str], vectors: np.ndarray, known: frozenset[str] = frozenset(),
                       guild_id: int | None = None) -> list[Answer]:
        """Answer questions whose readings were embedded elsewhere (the micro-batcher)."""
        view = self.view(guild_id)
        return self._answer(view, questions, [view.read(q) for q in questions], vectors, known, None)

    def _answer(self, view: View, questions: list[str], readings: list[str], vectors: np.ndarray,
                known: frozenset[str], max_notes: int | None) -> list[Answer]:
        dense = view.base.dense_chunks(vectors)
        return [self._compose(view, q, view.rank(r, v, "hybrid", d), view.coverage(r), known, max_notes)
                for q, r, v, d in zip(questions, readings, vectors, dense)]

    def is_answerable(self, hits: list[NoteHit], coverage: float = 1.0, threshold: float | None = None) -> bool:
        """The calibrated decision from two signals: the top note's cosine and the question's word coverage."""
        return is_answerable(hits, coverage, self.threshold if threshold is None else threshold)

    def _compose(self, view: View, question: str, hits: list[NoteHit], coverage: float,
                 known: frozenset[str], max_notes: int | None) -> Answer:
        corpus = view.corpus
        limit = max_notes or self.settings.max_notes
        similarity = {h.note_id: h.dense for h in hits}
        if not self.is_answerable(hits, coverage):
            closest = sorted(hits, key=lambda h: -h.dense)[:3]
            topics = tuple(
                NextTopic(h.note_id, corpus.notes[h.note_id].title, corpus.notes[h.note_id].discipline,
                          "closest topic in my notes", "closest")
                for h in closest if h.note_id in corpus.notes
            )
            return Answer(question, False, (), topics)
        chosen = shown_hits([h for h in hits if h.note_id in corpus.notes][:limit], self.threshold)
        results = []
        for h in chosen:
            note, chunk = corpus.notes[h.note_id], view.passage(h)
            results.append(Result(note.id, note.title, note.discipline, round(h.dense, 4), chunk.text,
                                  note.path, chunk.heading))
        best_note = corpus.notes[chosen[0].note_id]
        shown = {r.id for r in results}
        topics = [t for t in topics_after(corpus, best_note, known, similarity) if t.id not in shown]
        return Answer(question, True, tuple(results), tuple(topics))


__all__ = ["Answer", "AnswerService", "NextTopic", "RefreshReport", "Result", "topics_after"]
