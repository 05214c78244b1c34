"""Quizzes from the notes' check-yourself items: pick, persist, score, record answers exactly once.

A run (its questions included) is stored before the first question is shown, so a restart loses nothing: a
button pressed after the restart still finds the run. Each answer is one `Store.record_answer` transaction
(attempt + review card + progress); the unique key (run, user, note, item) makes a repeated answer a no-op,
so double clicks, retries and replays never count twice.

Choosing questions (seedable): the candidates are every item of the chosen note, discipline or the whole
corpus; items the learner has never answered or got wrong last time come first, then the rest, each tier in
random order.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.knowledge import DISCIPLINES, Corpus, Note, QuizItem
from bot.study.models import (
    AnswerOutcome,
    Attempt,
    QuizQuestion,
    QuizResults,
    QuizRun,
    QuizScore,
    RunKind,
    RunQuestion,
    RunRecord,
)
from bot.study.review import due_now, scheduler
from bot.study.storage import Store
from bot.study.when import local_day, now_or_utc, resolve_zone

MAX_QUESTIONS = 20
DEFAULT_QUESTIONS = 5
MAX_REVIEW = 10

ItemKey = tuple[str, int]  # (note id, item index)


@dataclass(frozen=True)
class Scope:
    """What a quiz draws from: one note, one discipline, or everything (both None)."""

    note_id: str | None = None
    discipline: str | None = None

    @property
    def label(self) -> str | None:
        return self.note_id or self.discipline


def resolve_scope(corpus: Corpus, text: str | None) -> Scope:
    """A note id or discipline name typed by a user (None or blank: the whole corpus)."""
    if text is None or not text.strip():
        return Scope()
    key = text.strip().lower()
    if key in corpus.notes:
        return Scope(note_id=key)
    as_discipline = key.replace(" ", "_").replace("-", "_")
    if as_discipline in DISCIPLINES:
        return Scope(discipline=as_discipline)
    matches = corpus.find(key, limit=1)
    if matches:
        return Scope(note_id=matches[0].id)
    raise NotFound(f"No topic or discipline matches '{text.strip()[:60]}'. Try a note such as "
                   f"'{next(iter(corpus.notes))}' or a discipline: {', '.join(DISCIPLINES)}.")


def candidate_items(corpus: Corpus, scope: Scope) -> list[ItemKey]:
    """Every quiz item in scope, in a stable order."""
    if scope.note_id:
        notes: Sequence[Note] = [corpus.notes[scope.note_id]]
    else:
        notes = [n for n in corpus.notes.values() if scope.discipline in (None, n.discipline)]
    return sorted((n.id, i) for n in notes for i in range(len(n.quiz)))


def last_results(attempts: Sequence[Attempt]) -> dict[ItemKey, bool]:
    """Whether each item's latest answer (attempts oldest first) was right."""
    return {(a.note_id, a.item_index): a.correct for a in attempts}


def pick_items(candidates: Sequence[ItemKey], last: Mapping[ItemKey, bool], size: int,
               rng: random.Random) -> list[ItemKey]:
    """Up to `size` items: unseen or last-wrong first, then last-right; random within each tier."""
    fresh = [c for c in candidates if not last.get(c, False)]
    known = [c for c in candidates if last.get(c, False)]
    rng.shuffle(fresh)
    rng.shuffle(known)
    chosen = (fresh + known)[:size]
    rng.shuffle(chosen)
    return chosen


def resolve_item(corpus: Corpus, q: RunQuestion) -> tuple[Note, QuizItem] | None:
    """The corpus item a stored question refers to, tolerating a hot-swapped corpus.

    The stored index wins when its text still matches; a moved item is found by its text; a reworded one
    keeps its index. None when the note or the item is gone.
    """
    note = corpus.get(q.note_id)
    if note is None:
        return None
    if q.item_index < len(note.quiz) and note.quiz[q.item_index].question == q.question:
        return note, note.quiz[q.item_index]
    moved = next((item for item in note.quiz if item.question == q.question), None)
    if moved is not None:
        return note, moved
    return (note, note.quiz[q.item_index]) if q.item_index < len(note.quiz) else None


def score_run(attempts: Sequence[Attempt]) -> tuple[QuizScore, ...]:
    """Participants by correct answers (ties share a rank; listed fastest first)."""
    per_user: dict[int, list[Attempt]] = {}
    for a in attempts:
        per_user.setdefault(a.user_id, []).append(a)
    rows = sorted(((sum(a.correct for a in answers), max(a.at for a in answers), uid, len(answers))
                   for uid, answers in per_user.items()), key=lambda r: (-r[0], r[1], r[2]))
    scores, rank, previous = [], 0, None
    for i, (correct, _, uid, answered) in enumerate(rows, start=1):
        if correct != previous:
            rank, previous = i, correct
        scores.append(QuizScore(rank=rank, user_id=uid, correct=correct, answered=answered))
    return tuple(scores)


class QuizService:
    """Start, answer, finish and score quizzes (solo, group and review runs)."""

    def __init__(self, store: Store, corpus_provider: Callable[[int | None], Corpus]):
        self._store = store
        self._corpus = corpus_provider

    async def start(self, guild_id: int, user_id: int, scope: str | None = None, size: int = DEFAULT_QUESTIONS,
                    *, group: bool = False, channel_id: int | None = None, seed: int | None = None,
                    now: datetime | None = None) -> QuizRun:
        """A new run of `size` questions from a note, a discipline or everything (group: anyone may answer)."""
        if not 1 <= size <= MAX_QUESTIONS:
            raise InvalidInput(f"A quiz has 1 to {MAX_QUESTIONS} questions.")
        corpus = self._corpus(guild_id)
        where = resolve_scope(corpus, scope)
        candidates = candidate_items(corpus, where)
        if not candidates:
            raise NotFound(f"There are no quiz questions for '{where.label}' yet.")
        seed = random.SystemRandom().randrange(2**31) if seed is None else seed
        # A group quiz favours nobody's history; a solo one favours what this learner has not got right.
        last = {} if group else last_results(await self._store.attempts(guild_id, user_id=user_id))
        items = pick_items(candidates, last, size, random.Random(seed))
        return await self._create(guild_id, "group" if group else "solo", user_id, where.label, channel_id, seed,
                                  items, corpus, now_or_utc(now))

    async def start_review(self, guild_id: int, user_id: int, size: int = MAX_REVIEW, *,
                           channel_id: int | None = None, now: datetime | None = None) -> QuizRun:
        """A run of the learner's due review cards, most overdue first."""
        now = now_or_utc(now)
        if not 1 <= size <= MAX_QUESTIONS:
            raise InvalidInput(f"A review has 1 to {MAX_QUESTIONS} questions.")
        corpus = self._corpus(guild_id)
        due = await due_now(self._store, guild_id, user_id, now, limit=size * 3)
        items = [(n, i) for n, i, _ in due if (note := corpus.get(n)) is not None and i < len(note.quiz)][:size]
        if not items:
            _, total, next_due = await self._store.card_counts(guild_id, user_id, now)
            when = f" The next card is due in {_humanize(next_due - now)}." if next_due else ""
            raise InvalidInput(("Nothing to review right now." + when) if total else
                               "You have no review cards yet: take a quiz or study a note first.")
        return await self._create(guild_id, "review", user_id, None, channel_id, 0, items, corpus, now)

    async def _create(self, guild_id: int, kind: RunKind, user_id: int, scope: str | None, channel_id: int | None,
                      seed: int, items: Sequence[ItemKey], corpus: Corpus, now: datetime) -> QuizRun:
        questions = [(n, i, corpus.notes[n].quiz[i].question) for n, i in items]
        run = await self._store.create_run(guild_id, kind, user_id, scope, channel_id, seed, questions, now)
        return self._view(run, corpus, frozenset())

    async def get(self, guild_id: int, run_id: int, user_id: int | None = None) -> QuizRun:
        """A run as stored (after a restart too), with the positions `user_id` has answered."""
        run = await self._run(guild_id, run_id)
        answered: frozenset[int] = frozenset()
        if user_id is not None:
            answered = _positions(run, await self._store.run_attempts(guild_id, run_id, user_id))
        return self._view(run, self._corpus(guild_id), answered)

    async def answer(self, guild_id: int, run_id: int, user_id: int, position: int, choice: int,
                     now: datetime | None = None) -> AnswerOutcome:
        """Check an answer (option index) and record it once; a repeat returns the first verdict."""
        now = now_or_utc(now)
        run = await self._run(guild_id, run_id)
        if run.status != "open":
            raise InvalidInput("This quiz has finished. Start a new one!")
        if run.kind != "group" and user_id != run.started_by:
            raise PermissionDenied("This is someone else's quiz. Start your own with the quiz command.")
        if not 0 <= position < len(run.questions):
            raise InvalidInput(f"This quiz has questions 1 to {len(run.questions)}.")
        q = run.questions[position]
        resolved = resolve_item(self._corpus(guild_id), q)
        if resolved is None:
            raise NotFound("This question was removed from the notes since the quiz started; skip it.")
        note, item = resolved
        if not 0 <= choice < len(item.options):
            raise InvalidInput(f"Pick an option from 1 to {len(item.options)}.")
        zone = resolve_zone(await self._store.timezone(user_id))
        correct = choice == item.answer
        attempt, created = await self._store.record_answer(
            guild_id, run_id, user_id, q.note_id, q.item_index, choice, correct, now, local_day(now, zone),
            scheduler(correct, now))
        mine = await self._store.run_attempts(guild_id, run_id, user_id)
        done = len(_positions(run, mine)) >= len(run.questions)
        if done and run.kind != "group":
            await self._store.finish_run(guild_id, run_id, now)
        return AnswerOutcome(run_id=run_id, position=position, correct=attempt.correct, chosen=attempt.chosen,
                             correct_choice=item.answer, correct_option=item.options[item.answer], why=item.why,
                             recorded=created, user_done=done)

    async def finish(self, guild_id: int, run_id: int, user_id: int, *, moderator: bool = False,
                     now: datetime | None = None) -> QuizResults:
        """Close a run (its starter or a moderator) and return the final results; finishing twice is harmless."""
        run = await self._run(guild_id, run_id)
        if user_id != run.started_by and not moderator:
            raise PermissionDenied("Only whoever started this quiz (or a moderator) can end it.")
        await self._store.finish_run(guild_id, run_id, now_or_utc(now))
        return await self.results(guild_id, run_id)

    async def results(self, guild_id: int, run_id: int) -> QuizResults:
        """Scores so far (final once finished): the leaderboard of a group quiz."""
        run = await self._run(guild_id, run_id)
        attempts = await self._store.run_attempts(guild_id, run_id)
        return QuizResults(run_id=run.id, kind=run.kind, total_questions=len(run.questions),
                           finished=run.status == "finished", scores=score_run(attempts))

    async def _run(self, guild_id: int, run_id: int) -> RunRecord:
        run = await self._store.run(guild_id, run_id)
        if run is None:
            raise NotFound("That quiz does not exist (here).")
        return run

    @staticmethod
    def _view(run: RunRecord, corpus: Corpus, answered: frozenset[int]) -> QuizRun:
        questions = []
        for q in run.questions:
            resolved = resolve_item(corpus, q)
            if resolved is not None:
                note, item = resolved
                questions.append(QuizQuestion(q.position, q.note_id, note.title, q.item_index, item.question,
                                              item.options))
        return QuizRun(id=run.id, guild_id=run.guild_id, kind=run.kind, started_by=run.started_by, scope=run.scope,
                       channel_id=run.channel_id, status=run.status, created_at=run.created_at,
                       questions=tuple(questions), answered=answered)


def _humanize(delta: timedelta) -> str:
    """A rough, friendly length of time: '3 days', '5 hours', '12 minutes'."""
    minutes = max(1, int(delta.total_seconds() // 60))
    for size, unit in ((1440, "day"), (60, "hour"), (1, "minute")):
        if minutes >= size:
            n = round(minutes / size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "1 minute"  # pragma: no cover


def _positions(run: RunRecord, attempts: Sequence[Attempt]) -> frozenset[int]:
    """Positions of the run answered by these attempts."""
    by_item = {(q.note_id, q.item_index): q.position for q in run.questions}
    return frozenset(by_item[(a.note_id, a.item_index)] for a in attempts if (a.note_id, a.item_index) in by_item)
