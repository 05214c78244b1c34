"""SM-2 arithmetic, and review cards through the service."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import InvalidInput, NotFound
from bot.study.models import CardState
from bot.study.review import LEARN_AHEAD, MIN_EASE, RELEARNING_STEP, in_relearning, is_due, schedule
from tests.study.conftest import GUILD, NOW, right_choice, wrong_choice


def review_days(grades) -> list[int]:
    state, out = None, []
    for g in grades:
        state = schedule(state, g, NOW)
        out.append(state.interval_days)
    return out


def test_intervals_are_1_then_6_then_interval_times_ease():
    assert review_days([4, 4, 4, 4, 4]) == [1, 6, 15, 38, 95]  # 6*2.5 = 15, 15*2.5 = 37.5 -> 38, 38*2.5 = 95


def test_first_review_of_a_new_card():
    state = schedule(None, True, NOW)
    assert (state.repetitions, state.interval_days, state.ease, state.lapses) == (1, 1, 2.5, 0)
    assert state.due_at == NOW + timedelta(days=1) and state.last_reviewed_at == NOW


@pytest.mark.parametrize("grade, ease", [(5, 2.6), (4, 2.5), (3, 2.36), (2, 2.18), (1, 1.96), (0, 1.7)])
def test_ease_update_per_grade(grade, ease):
    assert schedule(None, grade, NOW).ease == pytest.approx(ease)


def test_the_interval_uses_the_ease_before_this_review():
    state = CardState(due_at=NOW, repetitions=2, interval_days=6, ease=2.5)
    after = schedule(state, 5, NOW)
    assert after.interval_days == 15 and after.ease == pytest.approx(2.6)


def test_a_lapse_resets_repetitions_counts_and_enters_a_ten_minute_relearning_step():
    learned = CardState(due_at=NOW, repetitions=3, interval_days=15, ease=2.5)
    after = schedule(learned, False, NOW)
    assert (after.repetitions, after.interval_days, after.lapses) == (0, 0, 1)
    assert after.ease == pytest.approx(2.18)
    assert after.due_at == NOW + RELEARNING_STEP == NOW + timedelta(minutes=10)
    assert in_relearning(after) and not in_relearning(learned)
    # Passing the step graduates the card with SM-2's own intervals: 1 day, 6 days, then interval * ease.
    assert review_days([False, True, True, True]) == [0, 1, 6, int(6 * 2.18 + 0.5)]


def test_failing_again_in_the_step_keeps_the_card_there_without_a_second_ease_cut():
    missed = schedule(CardState(due_at=NOW, repetitions=2, interval_days=6, ease=2.5), False, NOW)
    again = schedule(missed, False, NOW + timedelta(minutes=10))
    assert (again.interval_days, again.lapses, again.ease) == (0, 1, missed.ease)
    assert again.due_at == NOW + timedelta(minutes=20)


def test_sm2_is_unchanged_for_graduated_cards():
    state = CardState(due_at=NOW, repetitions=4, interval_days=38, ease=2.5, last_reviewed_at=NOW)
    after = schedule(state, True, NOW)
    assert (after.interval_days, after.repetitions, after.due_at) == (95, 5, NOW + timedelta(days=95))


def test_a_relearning_card_may_be_reviewed_a_little_early_others_only_when_due():
    missed = schedule(None, False, NOW)
    assert not is_due(missed, NOW - LEARN_AHEAD - timedelta(seconds=1) + RELEARNING_STEP)
    assert is_due(missed, NOW) and is_due(missed, NOW + timedelta(minutes=10))
    graduated = schedule(None, True, NOW)
    assert not is_due(graduated, graduated.due_at - timedelta(minutes=5)) and is_due(graduated, graduated.due_at)


def test_ease_never_drops_below_the_floor():
    state = None
    for _ in range(10):  # a lapse of a graduated card each time
        state = schedule(schedule(state, 4, NOW), 0, NOW)
    assert state.ease == MIN_EASE
    # Only the first of repeated misses in a row cuts the ease (2.5 - 0.8), as in Anki's relearning steps.
    assert review_days([0] * 5 + [4] * 4)[-4:] == [1, 6, 10, 17]  # 6*1.7 = 10.2 -> 10, 10*1.7 = 17


def test_grades_outside_0_to_5_are_rejected():
    with pytest.raises(ValueError):
        schedule(None, 6, NOW)


async def test_quiz_answers_become_cards_and_reviews_come_due(service, study_corpus):
    run = await service.quizzes.start(GUILD, 7, "derivatives", 2, seed=1, now=NOW)
    for q in run.questions:
        choice = right_choice if q.item_index == 0 else wrong_choice
        await service.quizzes.answer(GUILD, run.id, 7, q.position, choice(study_corpus, q.note_id, q.item_index), NOW)
    summary = await service.reviews.summary(GUILD, 7, NOW)
    # The missed item is in its relearning step: reviewable now (learn ahead), due in 10 minutes.
    assert (summary.due_now, summary.total, summary.relearning) == (1, 2, 1)
    assert summary.next_due_at == NOW + timedelta(minutes=10)
    assert (await service.reviews.summary(GUILD, 7, NOW + timedelta(hours=1))).due_now == 1
    assert (await service.reviews.summary(GUILD, 7, NOW + timedelta(days=1))).due_now == 2

    review = await service.quizzes.start_review(GUILD, 7, now=NOW + timedelta(days=1))
    assert review.kind == "review" and {q.item_index for q in review.questions} == {0, 1}
    q = review.questions[0]
    await service.quizzes.answer(GUILD, review.id, 7, q.position, right_choice(study_corpus, q.note_id, q.item_index),
                                 NOW + timedelta(days=1))
    card = await service.store.card(GUILD, 7, q.note_id, q.item_index)
    assert card.last_reviewed_at == NOW + timedelta(days=1)


async def test_nothing_to_review_says_when_the_next_card_is_due(service):
    with pytest.raises(InvalidInput, match="no review cards yet"):
        await service.quizzes.start_review(GUILD, 7, now=NOW)
    assert await service.reviews.study_note(GUILD, 7, "chain-rule", NOW) == 2
    assert await service.reviews.study_note(GUILD, 7, "chain-rule", NOW) == 0  # existing cards are kept
    with pytest.raises(InvalidInput, match="due in 1 day"):
        await service.quizzes.start_review(GUILD, 7, now=NOW)
    with pytest.raises(NotFound):
        await service.reviews.study_note(GUILD, 7, "no-such-note", NOW)


async def test_daily_review_reminders_fire_once_per_local_day(service):
    await service.admin.set_timezone(7, "Asia/Tokyo", NOW)
    await service.reviews.study_note(GUILD, 7, "derivatives", NOW)
    await service.reviews.set_reminders(GUILD, 7, 9)
    with pytest.raises(InvalidInput):
        await service.reviews.set_reminders(GUILD, 7, 24)
    tomorrow = NOW + timedelta(days=1)  # 21:00 in Tokyo, after 9:00: due
    assert await service.reviews.due_reminders(NOW) == []  # cards not due yet
    first = await service.reviews.due_reminders(tomorrow)
    assert [(r.user_id, r.due, r.local_day.isoformat()) for r in first] == [(7, 2, "2026-03-03")]
    assert await service.reviews.due_reminders(tomorrow + timedelta(hours=1)) == []
    # Next Tokyo day, 08:00 local: before the chosen hour, nothing; at 09:00, again.
    assert await service.reviews.due_reminders(datetime_at(2026, 3, 3, 23)) == []
    assert len(await service.reviews.due_reminders(datetime_at(2026, 3, 4, 0))) == 1
    await service.reviews.set_reminders(GUILD, 7, None)
    assert (await service.reviews.summary(GUILD, 7, NOW)).reminders_enabled is False


def datetime_at(*args):
    from datetime import UTC, datetime

    return datetime(*args, tzinfo=UTC)


async def test_right_after_a_miss_the_review_relearns_it_and_a_pass_graduates_it(service, study_corpus):
    run = await service.quizzes.start(GUILD, 7, "derivatives", 2, seed=1, now=NOW)
    missed = run.questions[0]
    for q in run.questions:
        choice = wrong_choice if q is missed else right_choice
        await service.quizzes.answer(GUILD, run.id, 7, q.position, choice(study_corpus, q.note_id, q.item_index), NOW)
    soon = NOW + timedelta(seconds=30)
    review = await service.quizzes.start_review(GUILD, 7, now=soon)
    assert [(q.note_id, q.item_index) for q in review.questions] == [(missed.note_id, missed.item_index)]
    q = review.questions[0]
    await service.quizzes.answer(GUILD, review.id, 7, q.position, right_choice(study_corpus, q.note_id, q.item_index),
                                 soon)
    card = await service.store.card(GUILD, 7, q.note_id, q.item_index)
    assert (card.interval_days, card.repetitions, card.due_at) == (1, 1, soon + timedelta(days=1))
    with pytest.raises(InvalidInput, match="Nothing to review right now"):
        await service.quizzes.start_review(GUILD, 7, now=soon)


def test_a_pass_keeps_lapses_and_a_grade_of_3_passes():
    lapsed = CardState(due_at=NOW, repetitions=3, interval_days=15, ease=2.5, lapses=2, last_reviewed_at=NOW)
    after = schedule(lapsed, 3, NOW)
    assert after.repetitions == 4 and after.lapses == 2 and after.interval_days == 38
    assert schedule(None, 3, NOW).due_at == NOW + timedelta(days=1)


def test_a_lapse_after_one_success_counts_and_resets_the_repetitions():
    once = schedule(None, True, NOW)
    missed = schedule(once, False, NOW + timedelta(days=1))
    assert (missed.lapses, missed.repetitions, missed.interval_days) == (1, 0, 0)
    assert missed.due_at == NOW + timedelta(days=1) + RELEARNING_STEP
    assert schedule(None, False, NOW).lapses == 0  # a new card missed has not lapsed


@pytest.mark.parametrize("grade", [-1, 6])
def test_grades_outside_0_to_5_are_refused(grade):
    with pytest.raises(ValueError, match="0..5"):
        schedule(None, grade, NOW)


def test_ease_is_kept_to_four_decimals():
    from bot.study.review import next_ease

    assert next_ease(2.33333, 4) == 2.3333 and next_ease(1.31, 0) == MIN_EASE


@pytest.mark.parametrize("hour", [0, 23, None])
async def test_reminder_hours_run_from_0_to_23(service, hour):
    await service.reviews.set_reminders(GUILD, 7, hour)
    summary = await service.reviews.summary(GUILD, 7, NOW)
    assert summary.reminder_hour == hour and summary.reminders_enabled is (hour is not None)


@pytest.mark.parametrize("hour", [-1, 24])
async def test_reminder_hours_outside_the_day_are_refused(service, hour):
    with pytest.raises(InvalidInput, match="0 to 23"):
        await service.reviews.set_reminders(GUILD, 7, hour)
