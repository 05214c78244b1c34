"""The gap report: what learners asked that the notes could not answer well, grouped by meaning.

A server's refused questions and 👎-rated answers of the last N days are embedded with the answering service's
model (off the event loop) and clustered by agglomerative clustering on cosine distance with a threshold, so the
number of groups follows the data. Each group, largest first, carries up to three example questions (the most
central first), the notes closest to it in that server's view (with cosine scores), the 👎 reasons, and a
suggested note id and title for the note that would close the gap.

Without a server (the operators' report for the base corpus) every server is read, the base view is searched,
and nothing that identifies a person or a server is kept: no user or guild ids, no question ids, mentions and
long numbers removed from the text.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from bm25s.stopwords import STOPWORDS_EN
from sklearn.cluster import AgglomerativeClustering

from bot.errors import InvalidInput, NotFound
from bot.insights.gap_queries import GapRow, gap_rows
from bot.retrieval.answering import AnswerService
from bot.retrieval.question import strip_markup
from bot.study.storage import Store
from bot.study.when import now_or_utc

# Average-linkage cosine distance under which questions share a group. On all-MiniLM-L6-v2, paraphrases of one
# question sit at cosine 0.5-0.9 and questions on different topics below 0.35 (tests/insights/test_gaps.py).
CLUSTER_DISTANCE = 0.6
MAX_ITEMS = 2000  # newest questions considered (clustering is quadratic in memory)
EXAMPLES = 3
CLOSEST = 3
MAX_REASONS = 5
MAX_DAYS = 365
_WORD = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_SNOWFLAKE = re.compile(r"\b\d{15,21}\b")
# Words of asking, not of a topic: never part of a suggested note name.
_ASKING = frozenset("""what whats how why when where which who whom does do did is are was were can could should would
will shall may might explain explained explanation mean means meaning difference differences between vs versus
use used using work works working example examples understand understanding help please anyone someone know get
really actually exactly thing things way ways good best better need needs want tell say said simple simply like
i'm im don't dont doesn't doesnt isn't isnt there their they them my me our you your it its""".split())
DEFAULT_DISCIPLINE = "deep_learning"
_STOPWORDS = frozenset(STOPWORDS_EN)


@dataclass(frozen=True)
class ClosestNote:
    note_id: str
    title: str
    discipline: str
    score: float  # cosine between the group's centre and the note's best passage


@dataclass(frozen=True)
class GapGroup:
    """Questions that mean the same thing, none of them answered well."""

    key: int  # the group's smallest question id: finds the same group again (0 in the anonymised report)
    question_ids: tuple[int, ...]  # the logged questions in it (empty in the anonymised report)
    size: int  # logged questions (a question asked twice counts twice)
    refused: int
    downvoted: int
    examples: tuple[str, ...]  # up to three, most central first
    questions: tuple[str, ...]  # every distinct question, most central first
    closest: tuple[ClosestNote, ...]
    reasons: tuple[str, ...]  # 👎 reasons, newest first
    suggested_id: str
    suggested_title: str
    discipline: str  # a guess: the closest note's


@dataclass(frozen=True)
class GapReport:
    guild_id: int | None  # None: every server, anonymised
    days: int
    since: datetime
    min_count: int
    considered: int  # questions clustered
    truncated: bool  # more than MAX_ITEMS matched; the newest were kept
    groups: tuple[GapGroup, ...]  # with at least min_count questions, largest first
    smaller: int  # groups left out for having fewer than min_count

    @property
    def anonymous(self) -> bool:
        return self.guild_id is None

    def group(self, key: int) -> GapGroup:
        found = next((g for g in self.groups if key in g.question_ids), None)
        if found is None:
            raise NotFound("Those questions are no longer in the report (they may have expired); run "
                           "`/corpus gaps` again.")
        return found


def cluster(vectors: np.ndarray, threshold: float = CLUSTER_DISTANCE) -> list[list[int]]:
    """Indexes of unit vectors grouped by meaning, largest group first (ties: earliest first)."""
    n = len(vectors)
    if n == 0:
        return []
    if n == 1:
        return [[0]]
    labels = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold, metric="cosine",
                                     linkage="average").fit_predict(vectors)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(int(label), []).append(index)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


def clean_question(text: str, anonymous: bool = False) -> str:
    """The question without Discord markup (mentions, links, emoji); without long numbers when anonymised."""
    text = strip_markup(text)
    if anonymous:
        text = _SNOWFLAKE.sub(" ", text)
    return " ".join(text.split())


def topic_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in _STOPWORDS and w not in _ASKING]


def suggest_name(questions: list[str], taken: set[str]) -> tuple[str, str]:
    """A note id and title from the words most of the group's questions share, in the order the central
    question uses them; the id is made unique against `taken` (existing notes and earlier groups)."""
    per_question = [topic_words(q) for q in questions]
    df = Counter(w for words in per_question for w in set(words))
    need = max(2, math.ceil(0.4 * len(questions))) if len(questions) > 1 else 1  # shared by two or more
    central = per_question[0] if per_question else []
    shared = [w for w, n in df.most_common() if n >= need][:3]
    words = sorted(shared, key=lambda w: central.index(w) if w in central else len(central)) or central[:3]
    words = words or ["new", "topic"]
    base = "-".join(words)[:60].strip("-")
    note_id, n = base, 2
    while note_id in taken:
        note_id, n = f"{base}-{n}", n + 1
    return note_id, " ".join(words).capitalize()


class GapService:
    """Builds gap reports from the question log; the cog and the CLI both call it."""

    def __init__(self, store: Store, answers: AnswerService, threshold: float = CLUSTER_DISTANCE):
        self._store = store
        self.answers = answers
        self.threshold = threshold

    async def report(self, guild_id: int | None, days: int = 30, min_count: int = 2,
                     now: datetime | None = None) -> GapReport:
        """The report of one server (None: every server, anonymised, searched against the base corpus)."""
        if not 1 <= days <= MAX_DAYS:
            raise InvalidInput(f"Choose between 1 and {MAX_DAYS} days.")
        if min_count < 1:
            raise InvalidInput("The smallest group size must be at least 1.")
        since = now_or_utc(now) - timedelta(days=days)
        rows = await gap_rows(self._store, guild_id, since, MAX_ITEMS + 1)
        truncated = len(rows) > MAX_ITEMS
        rows = rows[-MAX_ITEMS:]
        anonymous = guild_id is None
        texts = [clean_question(r.question, anonymous) for r in rows]
        kept = [(r, t) for r, t in zip(rows, texts) if t]
        if not kept:
            return GapReport(guild_id, days, since, min_count, 0, truncated, (), 0)
        groups = await asyncio.to_thread(self._groups, guild_id, [r for r, _ in kept], [t for _, t in kept])
        shown = tuple(g for g in groups if g.size >= min_count)
        return GapReport(guild_id, days, since, min_count, len(kept), truncated, shown, len(groups) - len(shown))

    def _groups(self, guild_id: int | None, rows: list[GapRow], texts: list[str]) -> list[GapGroup]:
        """Embed, cluster and describe (in a worker thread: the model and the index search are CPU work)."""
        vectors = self.answers.embedder.encode(texts)
        view = self.answers.view(guild_id)
        taken = set(view.corpus.notes)
        out = []
        for members in cluster(vectors, self.threshold):
            centre = vectors[members].mean(axis=0)
            centre = (centre / (np.linalg.norm(centre) or 1.0)).astype(np.float32)
            central = sorted(members, key=lambda i: (-float(vectors[i] @ centre), i))
            distinct = list(dict.fromkeys(texts[i] for i in central))
            hits = view.rank(view.read(distinct[0]), centre, "dense")[:CLOSEST]
            closest = tuple(ClosestNote(h.note_id, view.corpus.notes[h.note_id].title,
                                        view.corpus.notes[h.note_id].discipline, round(h.dense, 3))
                            for h in hits if h.note_id in view.corpus.notes)
            note_id, title = suggest_name(distinct, taken)
            taken.add(note_id)
            newest_first = sorted(members, key=lambda i: -rows[i].question_id)
            reasons = [clean_question(reason, guild_id is None) for i in newest_first for reason in rows[i].reasons]
            out.append(GapGroup(
                key=0 if guild_id is None else min(rows[i].question_id for i in members),
                question_ids=() if guild_id is None else tuple(sorted(rows[i].question_id for i in members)),
                size=len(members),
                refused=sum(rows[i].refused for i in members),
                downvoted=sum(1 for i in members if rows[i].downvotes),
                examples=tuple(distinct[:EXAMPLES]),
                questions=tuple(distinct),
                closest=closest,
                reasons=tuple(r for r in dict.fromkeys(reasons) if r)[:MAX_REASONS],
                suggested_id=note_id,
                suggested_title=title,
                discipline=closest[0].discipline if closest else DEFAULT_DISCIPLINE,
            ))
        return out


__all__ = ["CLUSTER_DISTANCE", "ClosestNote", "GapGroup", "GapReport", "GapService", "clean_question", "cluster",
           "suggest_name"]
