"""Progress: mastery, streaks in the learner's timezone, leaderboards and next-topic suggestions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.errors import InvalidInput, NotFound
from bot.study.models import Attempt
from bot.study.progress import compute_streak, mastered_notes, rank_scores
from tests.study.conftest import GUILD, NOW, OTHER_GUILD, right_choice, wrong_choice


def attempts(note: str, results: list[bool]) -> list[Attempt]:
    return [Attempt(7, note, i % 2, r, 0, NOW + timedelta(minutes=i)) for i, r in enumerate(results)]


@pytest.mark.parametrize("results, mastered", [
    ([True, True], True),
    ([True, False, True], True),
    ([True], False),
    ([True, True, False, False], False),    # only the last three count
    ([False, False, True, True], True),
    ([True, False, False, True], False),
])
def test_mastery_is_two_of_the_last_three(results, mastered):
    assert (mastered_notes(attempts("a", results)) == {"a"}) is mastered


def test_streaks_count_consecutive_days_ending_today_or_yesterday():
    today = date(2026, 3, 10)
    days = ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-07", "2026-03-08", "2026-03-09"]
    streak = compute_streak(days, today)
    assert (streak.current, streak.longest, streak.studied_today) == (3, 3, False)
    assert compute_streak(days + ["2026-03-10"], today).current == 4
    assert compute_streak(days, date(2026, 3, 11)).current == 0
    assert compute_streak([], today).current == 0


def test_leaderboard_ranks_share_ties():
    ranked = rank_scores([(5, 3), (6, 7), (7, 3), (8, 0), (9, 1)], limit=10)
    assert [(e.rank, e.user_id, e.score) for e in ranked] == [(1, 6, 7), (2, 5, 3), (2, 7, 3), (4, 9, 1)]


async def answer_note(service, corpus, user, note, right: int, now=NOW, guild=GUILD):
    """Quiz `user` on both items of `note`, getting the first `right` of them right."""
    run = await service.quizzes.start(guild, user, note, 2, seed=0, now=now)
    for q in run.questions:
        pick = right_choice if q.position < right else wrong_choice
        await service.quizzes.answer(guild, run.id, user, q.position, pick(corpus, q.note_id, q.item_index), now)


async def test_the_progress_report(service, study_corpus):
    qid = await service.questions.log(GUILD, 7, "why the chain rule?", True, "chain-rule", NOW)
    assert qid > 0
    await service.questions.log(GUILD, 7, "steak temperature?", False, None, NOW)
    await service.reviews.study_note(GUILD, 7, "gradient-descent", NOW + timedelta(minutes=1))
    await answer_note(service, study_corpus, 7, "derivatives", 2, NOW + timedelta(minutes=2))
    report = await service.progress.report(GUILD, 7, NOW + timedelta(minutes=3))
    by_note = {t.note_id: t for t in report.topics}
    assert [t.note_id for t in report.topics] == ["derivatives", "gradient-descent", "chain-rule"]  # newest first
    assert (by_note["chain-rule"].asked, by_note["gradient-descent"].opened, by_note["derivatives"].quizzed) == (1, 1, 2)
    assert by_note["derivatives"].mastered and not by_note["chain-rule"].mastered
    assert report.mastered == {"derivatives"}
    calculus = next(d for d in report.disciplines if d.discipline == "calculus")
    assert (calculus.mastered, calculus.total, calculus.percent, calculus.label) == (1, 3, 33, "Calculus")
    assert (report.correct_answers, report.total_answers) == (2, 2)
    assert report.streak.current == 1 and report.streak.studied_today
    assert await service.progress.mastered(GUILD, 7) == {"derivatives"}
    assert await service.progress.mastered(OTHER_GUILD, 7) == frozenset()


async def test_the_streak_follows_the_learners_timezone(service):
    await service.admin.set_timezone(7, "Asia/Tokyo", NOW)
    # 2 March 20:00 UTC is 3 March 05:00 in Tokyo; 3 March 16:00 UTC is 4 March 01:00.
    for moment in (datetime(2026, 3, 2, 1, 0, tzinfo=UTC), datetime(2026, 3, 2, 20, 0, tzinfo=UTC),
                   datetime(2026, 3, 3, 16, 0, tzinfo=UTC)):
        await service.progress.record(GUILD, 7, "derivatives", "opened", moment)
    assert await service.store.activity_days(GUILD, 7) == ["2026-03-02", "2026-03-03", "2026-03-04"]
    streak = await service.progress.streak(GUILD, 7, datetime(2026, 3, 4, 10, 0, tzinfo=UTC))  # 19:00 Tokyo
    assert (streak.current, streak.longest, streak.studied_today, streak.today) == (3, 3, True, date(2026, 3, 4))
    assert (await service.progress.streak(GUILD, 7, datetime(2026, 3, 5, 16, 0, tzinfo=UTC))).current == 0
    with pytest.raises(InvalidInput):
        await service.progress.record(GUILD, 7, "derivatives", "danced", NOW)


async def test_leaderboards_by_guild_group_period_and_metric(service, study_corpus):
    await answer_note(service, study_corpus, 10, "derivatives", 2)
    await answer_note(service, study_corpus, 10, "chain-rule", 2)
    await answer_note(service, study_corpus, 11, "derivatives", 1)
    await answer_note(service, study_corpus, 12, "bayes-theorem", 2, now=NOW + timedelta(days=3))
    await answer_note(service, study_corpus, 13, "derivatives", 2, guild=OTHER_GUILD)

    board = await service.progress.leaderboard(GUILD, "correct")
    assert [(e.rank, e.user_id, e.score) for e in board] == [(1, 10, 4), (2, 12, 2), (3, 11, 1)]
    recent = await service.progress.leaderboard(GUILD, "correct", since=NOW + timedelta(days=1))
    assert [(e.user_id, e.score) for e in recent] == [(12, 2)]
    mastered = await service.progress.leaderboard(GUILD, "mastered")
    assert [(e.rank, e.user_id, e.score) for e in mastered] == [(1, 10, 2), (2, 12, 1)]

    await service.groups.create(GUILD, 11, "Pair", now=NOW)
    await service.groups.join(GUILD, 12, "Pair", now=NOW)
    in_group = await service.progress.leaderboard(GUILD, "correct", group="pair")
    assert [(e.user_id, e.score) for e in in_group] == [(12, 2), (11, 1)]
    assert [e.user_id for e in await service.progress.leaderboard(OTHER_GUILD)] == [13]
    with pytest.raises(NotFound):
        await service.progress.leaderboard(GUILD, group="nobody")
    with pytest.raises(InvalidInput):
        await service.progress.leaderboard(GUILD, "speed")


async def test_suggestions_skip_mastered_and_prefer_ready_topics(service, study_corpus):
    first = await service.progress.suggestions(GUILD, 7)
    assert [(s.note_id, s.ready) for s in first] == [("derivatives", True)]
    assert "starting point" in first[0].reason

    await answer_note(service, study_corpus, 7, "derivatives", 2)
    after = await service.progress.suggestions(GUILD, 7)
    assert [s.note_id for s in after] == ["chain-rule", "gradient-descent", "bayes-theorem"]
    assert all(s.ready and "The derivative" in s.reason for s in after)

    await service.questions.log(GUILD, 7, "how does backprop work?", True, "backpropagation", NOW)
    started = await service.progress.suggestions(GUILD, 7, limit=2)
    assert [s.note_id for s in started] == ["chain-rule", "gradient-descent"]
    assert started[0].reason == "needed first for Backpropagation, which you started"
    stats_only = await service.progress.suggestions(GUILD, 7, discipline="statistics")
    assert [s.note_id for s in stats_only] == ["bayes-theorem"]
    with pytest.raises(InvalidInput):
        await service.progress.suggestions(GUILD, 7, discipline="astrology")
