"""Spaced repetition with SM-2, and the review service (due counts, study-a-note, daily reminders).

Why SM-2 rather than FSRS: SM-2 is a few lines of arithmetic anyone can check by hand ("right again: the gap
grows by the ease factor"), it needs no per-user parameters, and it behaves sensibly from the very first
review. FSRS schedules better once it has been fitted to hundreds of a learner's reviews, but our learners
answer a handful of multiple-choice questions a week, far too few to fit its parameters, and its defaults
would make the schedule opaque without making it better for them.

The arithmetic (Wozniak's SM-2, as usually stated): a grade q in 0..5; q >= 3 is a success.
  success: interval = 1 day after the first, 6 days after the second, then round(interval * ease);
           repetitions + 1
  lapse:   repetitions = 0 (the item is relearned, and its next success starts again at 1 day)
  always:  ease += 0.1 - (5 - q) * (0.08 + (5 - q) * 0.02), never below 1.3
Multiple choice gives right/wrong only: right is graded 4 (ease unchanged), wrong 2 (ease - 0.32).

Relearning step (as Anki does): a missed card is not left until tomorrow. It enters a short relearning step,
due again `RELEARNING_STEP` (10 minutes) later, with interval 0 meaning "in the step". Answered right, it
leaves the step with SM-2's first interval (1 day, then 6, then interval * ease: SM-2 unchanged for cards
that graduate); answered wrong again, it stays in the step, and its ease is not cut a second time for the
same lapse. Like Anki's "learn ahead" limit, a card in its step may be reviewed up to `LEARN_AHEAD` (20
minutes) early, so `/review start` right after a quiz replays today's misses.

Which items become cards: every quiz item a learner answers (right or wrong), and the items of a note they
choose to study (`ReviewService.study_note`), first due the next day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.errors import InvalidInput, NotFound
from bot.knowledge import Corpus
from bot.study.models import CardState, ReviewReminder, ReviewSummary
from bot.study.storage import Store
from bot.study.when import local_day, now_or_utc, resolve_zone

MIN_EASE = 1.3
START_EASE = 2.5
GRADE_CORRECT = 4
GRADE_INCORRECT = 2
PASSING_GRADE = 3
RELEARNING_STEP = timedelta(minutes=10)
LEARN_AHEAD = timedelta(minutes=20)


def grade_for(correct: bool) -> int:
    """The SM-2 grade of a multiple-choice answer."""
    return GRADE_CORRECT if correct else GRADE_INCORRECT


def next_ease(ease: float, grade: int) -> float:
    """SM-2's ease update, floored at 1.3."""
    return max(MIN_EASE, round(ease + 0.1 - (5 - grade) * (0.08 + (5 - grade) * 0.02), 4))


def schedule(state: CardState | None, grade: int | bool, now: datetime) -> CardState:
    """The card's state after a review graded `grade` (0-5, or True/False for right/wrong) at `now`."""
    q = grade_for(grade) if isinstance(grade, bool) else grade
    if not 0 <= q <= 5:
        raise ValueError(f"SM-2 grade must be 0..5, got {q}")
    old = state or CardState(due_at=now)
    if q >= PASSING_GRADE:
        if old.repetitions == 0:
            interval = 1
        elif old.repetitions == 1:
            interval = 6
        else:
            interval = int(old.interval_days * old.ease + 0.5)  # round half up, not to even
        return CardState(due_at=now + timedelta(days=interval), repetitions=old.repetitions + 1,
                         interval_days=interval, ease=next_ease(old.ease, q), lapses=old.lapses,
                         last_reviewed_at=now)
    lapses = old.lapses + (1 if state is not None and old.repetitions > 0 else 0)
    ease = old.ease if state is not None and in_relearning(state) else next_ease(old.ease, q)
    return CardState(due_at=now + RELEARNING_STEP, repetitions=0, interval_days=0, ease=ease, lapses=lapses,
                     last_reviewed_at=now)


def scheduler(correct: bool, now: datetime) -> Callable[[CardState | None], CardState]:
    """`schedule` with the grade and time bound: what `Store.record_answer` applies inside its transaction."""
    return lambda state: schedule(state, correct, now)


def in_relearning(state: CardState) -> bool:
    """A card missed at its last review, waiting for (or in) its short relearning step."""
    return state.interval_days == 0 and state.last_reviewed_at is not None


def is_due(state: CardState, now: datetime) -> bool:
    """Whether the card should be reviewed at `now` (a card in its relearning step up to LEARN_AHEAD early)."""
    return state.due_at <= now or (in_relearning(state) and state.due_at <= now + LEARN_AHEAD)


async def due_now(store: Store, guild_id: int, user_id: int, now: datetime,
                  limit: int) -> list[tuple[str, int, CardState]]:
    """The learner's cards to review at `now`, most overdue first: due ones, then relearning steps taken early."""
    cards = await store.due_cards(guild_id, user_id, now + LEARN_AHEAD, limit=limit)
    return [c for c in cards if is_due(c[2], now)]


class ReviewService:
    """Review cards of one learner in one server: counts, adding a note's items, daily DM opt-in."""

    def __init__(self, store: Store, corpus_provider: Callable[[int | None], Corpus]):
        self._store = store
        self._corpus = corpus_provider

    async def summary(self, guild_id: int, user_id: int, now: datetime | None = None) -> ReviewSummary:
        """Due and total cards (relearning steps included), the next due time, and the reminder setting."""
        now = now_or_utc(now)
        due, total, next_due = await self._store.card_counts(guild_id, user_id, now)
        ready = await due_now(self._store, guild_id, user_id, now, limit=due + 1000)
        early = sum(state.due_at > now for _, _, state in ready)
        hour = await self._store.review_reminder_hour(guild_id, user_id)
        return ReviewSummary(due_now=due + early, total=total, next_due_at=next_due, reminders_enabled=hour is not None,
                             reminder_hour=hour, relearning=sum(in_relearning(state) for _, _, state in ready))

    async def study_note(self, guild_id: int, user_id: int, note_id: str, now: datetime | None = None) -> int:
        """Record that the learner opened a note and add its quiz items as cards due tomorrow; returns how many."""
        now = now_or_utc(now)
        note = self._corpus(guild_id).get(note_id)
        if note is None:
            raise NotFound(f"There is no note '{note_id}'.")
        zone = resolve_zone(await self._store.timezone(user_id))
        return await self._store.record_study(guild_id, user_id, note_id, "opened", now, local_day(now, zone),
                                              new_cards=range(len(note.quiz)), due_at=now + timedelta(days=1))

    async def set_reminders(self, guild_id: int, user_id: int, hour: int | None) -> None:
        """Opt in to a daily DM at a local hour (0-23), or out with None."""
        if hour is not None and not 0 <= hour <= 23:
            raise InvalidInput("Pick an hour from 0 to 23 (your local time), e.g. 18 for 6 pm.")
        await self._store.set_review_reminder(guild_id, user_id, hour)

    async def due_reminders(self, now: datetime | None = None) -> list[ReviewReminder]:
        """Daily review DMs to send now, each claimed once per local day (only learners with cards due)."""
        now = now_or_utc(now)
        out = []
        for c in await self._store.review_reminder_candidates(now):
            zone = resolve_zone(c.timezone)
            local = now.astimezone(zone)
            day = local.date().isoformat()
            if c.due == 0 or local.hour < c.hour or (c.last_sent_on is not None and c.last_sent_on >= day):
                continue
            if await self._store.claim_review_reminder(c.guild_id, c.user_id, day):
                out.append(ReviewReminder(c.guild_id, c.user_id, c.due, local.date()))
        return out
