"""Progress: topics studied, mastery, streaks, leaderboards and what to study next.

Mastery (one definition, used everywhere): a note is *mastered* by a learner when, among their last 3
answers to that note's quiz items (any items, any runs, in this server), at least 2 were right. Recent answers
decide, so forgetting shows; a single lucky guess is not enough. A discipline's mastery is its mastered notes
out of its notes that have quiz items.

Streak: consecutive calendar days, in the learner's timezone when they studied, with at least one study
event (a question answered from a note, a note opened, a quiz answer). It is still "current" until the end
of the day after the last study day.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta

from bot.errors import InvalidInput, NotFound
from bot.knowledge import DISCIPLINES, LEVELS, Corpus
from bot.knowledge.notes import DISCIPLINE_LABELS
from bot.study.models import (
    EVENT_KINDS,
    Attempt,
    DisciplineMastery,
    EventKind,
    LeaderboardEntry,
    LeaderboardMetric,
    ProgressReport,
    Streak,
    Suggestion,
    TopicActivity,
)
from bot.study.storage import Store
from bot.study.when import local_day, now_or_utc, resolve_zone, today_in

MASTERY_WINDOW = 3
MASTERY_NEEDED = 2


def mastered_notes(attempts: Iterable[Attempt]) -> frozenset[str]:
    """Notes whose last 3 answers (attempts oldest first) include at least 2 right ones."""
    recent: dict[str, deque[bool]] = defaultdict(lambda: deque(maxlen=MASTERY_WINDOW))
    for a in attempts:
        recent[a.note_id].append(a.correct)
    return frozenset(n for n, results in recent.items() if sum(results) >= MASTERY_NEEDED)


def discipline_mastery(corpus: Corpus, mastered: frozenset[str]) -> list[DisciplineMastery]:
    """Mastered/total quizzable notes for each discipline present in the corpus, in syllabus order."""
    by = corpus.by_discipline()
    out = []
    for d in sorted(by, key=lambda d: DISCIPLINES.index(d) if d in DISCIPLINES else len(DISCIPLINES)):
        quizzable = [n.id for n in by[d] if n.quiz]
        out.append(DisciplineMastery(d, DISCIPLINE_LABELS.get(d, d), sum(n in mastered for n in quizzable),
                                     len(quizzable)))
    return out


def compute_streak(days: Iterable[str], today: date) -> Streak:
    """Current and longest runs of consecutive days (ISO strings), the current one ending today or yesterday."""
    studied = {date.fromisoformat(d) for d in days}
    longest = run = 0
    previous: date | None = None
    for d in sorted(studied):
        run = run + 1 if previous is not None and d - previous == timedelta(days=1) else 1
        longest, previous = max(longest, run), d
    end = today if today in studied else today - timedelta(days=1)
    current = 0
    while end - timedelta(days=current) in studied:
        current += 1
    return Streak(current=current, longest=longest, studied_today=today in studied, today=today)


def rank_scores(rows: Sequence[tuple[int, int]], limit: int) -> list[LeaderboardEntry]:
    """(user, score) best first into ranked entries; equal scores share a rank (1, 1, 3)."""
    ordered = sorted((r for r in rows if r[1] > 0), key=lambda r: (-r[1], r[0]))[:limit]
    out, rank, previous = [], 0, None
    for i, (user_id, score) in enumerate(ordered, start=1):
        if score != previous:
            rank, previous = i, score
        out.append(LeaderboardEntry(rank=rank, user_id=user_id, score=score))
    return out


def personal_suggestions(corpus: Corpus, mastered: frozenset[str], studied: Mapping[str, datetime], limit: int = 5,
                         discipline: str | None = None) -> list[Suggestion]:
    """Notes to study next, skipping mastered ones and preferring those whose prerequisites are mastered.

    Order: notes the learner started whose prerequisites are mastered; the first missing prerequisite of a
    note they started; then fresh notes that build on mastered ones (most mastered prerequisites first); then
    starting points (no prerequisites), easiest level first.
    """
    graph, notes = corpus.graph, corpus.notes
    in_scope = [n for n in notes.values() if n.id not in mastered and discipline in (None, n.discipline)]

    def ready(note_id: str) -> bool:
        return all(p in mastered for p in graph.prerequisites_of(note_id))

    def titles(ids: Iterable[str]) -> str:
        names = [notes[i].title for i in ids]
        return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")

    out: dict[str, Suggestion] = {}

    def add(note_id: str, reason: str) -> None:
        if note_id not in out and note_id not in mastered and len(out) < limit:
            n = notes[note_id]
            out[note_id] = Suggestion(n.id, n.title, n.discipline, reason, ready(note_id))

    started = sorted((n for n in in_scope if n.id in studied), key=lambda n: studied[n.id], reverse=True)
    for n in started:
        if ready(n.id):
            add(n.id, "you started it and know its prerequisites: finish it" if graph.prerequisites_of(n.id)
                else "you started it: finish it")
    for n in started:
        if not ready(n.id):
            first = graph.path_to(n.id, known=mastered)[0]
            if discipline in (None, notes[first].discipline):
                add(first, f"needed first for {n.title}, which you started")
    fresh = [n for n in in_scope if n.id not in studied and ready(n.id)]
    builds = sorted((n for n in fresh if n.prerequisites),
                    key=lambda n: (-len(n.prerequisites), -len(graph.next_topics(n.id)), n.id))
    for n in builds:
        add(n.id, f"builds on {titles(graph.prerequisites_of(n.id))}, which you have mastered")
    roots = sorted((n for n in fresh if not n.prerequisites),
                   key=lambda n: (LEVELS.index(n.level) if n.level in LEVELS else 9, -len(graph.next_topics(n.id)),
                                  n.id))
    for n in roots:
        add(n.id, "a starting point: it has no prerequisites")
    return list(out.values())


class ProgressService:
    """A learner's progress in one server, leaderboards and the study map."""

    def __init__(self, store: Store, corpus_provider: Callable[[int | None], Corpus]):
        self._store = store
        self._corpus = corpus_provider

    async def record(self, guild_id: int, user_id: int, note_id: str, kind: EventKind,
                     now: datetime | None = None) -> None:
        """Record that the learner asked about, opened or was quizzed on a note (counts for the streak)."""
        if kind not in EVENT_KINDS:
            raise InvalidInput(f"Unknown study event '{kind}'.")
        now = now_or_utc(now)
        zone = resolve_zone(await self._store.timezone(user_id))
        await self._store.record_study(guild_id, user_id, note_id, kind, now, local_day(now, zone))

    async def mastered(self, guild_id: int, user_id: int) -> frozenset[str]:
        """Ids of the notes this learner has mastered (pass as `known` to the answer service)."""
        corpus = self._corpus(guild_id)
        return frozenset(n for n in mastered_notes(await self._store.attempts(guild_id, user_id=user_id))
                         if n in corpus.notes)

    async def streak(self, guild_id: int, user_id: int, now: datetime | None = None) -> Streak:
        """The learner's study streak in their timezone."""
        zone = resolve_zone(await self._store.timezone(user_id))
        return compute_streak(await self._store.activity_days(guild_id, user_id), today_in(zone, now_or_utc(now)))

    async def report(self, guild_id: int, user_id: int, now: datetime | None = None) -> ProgressReport:
        """Topics studied, mastery per discipline, streak and answer counts."""
        corpus = self._corpus(guild_id)
        attempts = await self._store.attempts(guild_id, user_id=user_id)
        mastered = frozenset(n for n in mastered_notes(attempts) if n in corpus.notes)
        counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(EVENT_KINDS, 0))
        last: dict[str, datetime] = {}
        for c in await self._store.event_counts(guild_id, user_id):
            if c.note_id in corpus.notes:
                counts[c.note_id][c.kind] += c.count
                last[c.note_id] = max(last.get(c.note_id, c.last_at), c.last_at)
        topics = sorted((TopicActivity(nid, corpus.notes[nid].title, corpus.notes[nid].discipline, k["asked"],
                                       k["opened"], k["quizzed"], last[nid], nid in mastered)
                         for nid, k in counts.items()), key=lambda t: (t.last_at, t.note_id), reverse=True)
        return ProgressReport(user_id=user_id, topics=tuple(topics),
                              disciplines=tuple(discipline_mastery(corpus, mastered)),
                              streak=await self.streak(guild_id, user_id, now),
                              correct_answers=sum(a.correct for a in attempts), total_answers=len(attempts),
                              mastered=mastered)

    async def leaderboard(self, guild_id: int, metric: LeaderboardMetric = "correct", since: datetime | None = None,
                          group: str | None = None, limit: int = 10) -> list[LeaderboardEntry]:
        """Top learners of the server (or of one group) by correct answers or notes mastered since `since`.

        For "mastered", only answers given since `since` count towards mastery.
        """
        if not 1 <= limit <= 50:
            raise InvalidInput("A leaderboard shows 1 to 50 people.")
        group_id = None
        if group is not None:
            found = await self._store.group_by_name(guild_id, group)
            if found is None:
                raise NotFound(f"There is no study group called '{group.strip()[:60]}' here.")
            group_id = found.id
        if metric == "correct":
            return rank_scores(await self._store.correct_counts(guild_id, since, group_id, limit), limit)
        if metric != "mastered":
            raise InvalidInput("Rank by 'correct' answers or 'mastered' notes.")
        notes = self._corpus(guild_id).notes
        per_user: dict[int, list[Attempt]] = defaultdict(list)
        for a in await self._store.attempts(guild_id, since=since, group_id=group_id):
            per_user[a.user_id].append(a)
        rows = [(uid, sum(n in notes for n in mastered_notes(atts))) for uid, atts in per_user.items()]
        return rank_scores(rows, limit)

    async def suggestions(self, guild_id: int, user_id: int, limit: int = 5,
                          discipline: str | None = None) -> list[Suggestion]:
        """Personal next topics with reasons: skips mastered notes, prefers ones whose prerequisites are mastered."""
        if discipline is not None and discipline not in DISCIPLINES:
            raise InvalidInput(f"Unknown discipline '{discipline}' (one of: {', '.join(DISCIPLINES)}).")
        corpus = self._corpus(guild_id)
        mastered = await self.mastered(guild_id, user_id)
        studied: dict[str, datetime] = {}
        for c in await self._store.event_counts(guild_id, user_id):
            if c.note_id in corpus.notes:
                studied[c.note_id] = max(studied.get(c.note_id, c.last_at), c.last_at)
        return personal_suggestions(corpus, mastered, studied, limit, discipline)

    async def map_png(self, guild_id: int, user_id: int, scope: str = "mine") -> bytes:
        """The learner's study map as PNG bytes (rendered in a worker thread, off the event loop).

        `scope`: "mine" (studied, mastered and next topics), "all" (an overview by discipline) or a discipline.
        """
        if scope not in ("mine", "all") and scope not in DISCIPLINES:
            raise InvalidInput(f"Unknown discipline '{scope}' (one of: {', '.join(DISCIPLINES)}).")
        corpus = self._corpus(guild_id)
        mastered = await self.mastered(guild_id, user_id)
        last: dict[str, datetime] = {}
        for c in await self._store.event_counts(guild_id, user_id):
            if c.note_id in corpus.notes:
                last[c.note_id] = max(last.get(c.note_id, c.last_at), c.last_at)
        recent = sorted(last, key=lambda n: (last[n], n), reverse=True)
        suggestions = ([s.note_id for s in personal_suggestions(corpus, mastered, last, limit=6)]
                       if scope == "mine" else [])
        image = await asyncio.to_thread(_render_map, corpus, mastered, frozenset(last), scope, recent, suggestions)
        return image.png


def _render_map(corpus, mastered, studied, scope, recent, suggestions):
    """Runs in a worker thread: the drawing modules (Pillow, matplotlib's font lookup) load here on first use."""
    from bot.study.map import render_map

    return render_map(corpus, mastered, studied, scope, recent, suggestions)
