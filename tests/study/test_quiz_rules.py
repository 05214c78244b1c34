"""Quiz rules at their edges: sizes, scopes, who may answer, what an answer reports, friendly durations.

Written against mutation testing (docs/TESTING.md): each test pins a rule a one-token change would break.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.study.models import Attempt
from bot.study.quiz import MAX_QUESTIONS, Scope, _humanize, resolve_scope, score_run
from tests.study.conftest import GUILD, NOW, right_choice, wrong_choice


@pytest.mark.parametrize("minutes, text", [
    (0, "1 minute"), (1, "1 minute"), (2, "2 minutes"), (59, "59 minutes"), (60, "1 hour"), (90, "2 hours"),
    (150, "2 hours"), (1439, "24 hours"), (1440, "1 day"), (2 * 1440, "2 days"),
])
def test_durations_read_naturally(minutes, text):
    assert _humanize(timedelta(minutes=minutes, seconds=30 if minutes else 10)) == text


def test_scopes_are_a_note_a_discipline_or_everything(study_corpus):
    assert resolve_scope(study_corpus, None) == Scope() == resolve_scope(study_corpus, "  ")
    assert resolve_scope(study_corpus, " Chain-Rule ") == Scope(note_id="chain-rule")
    assert resolve_scope(study_corpus, "deep learning") == Scope(discipline="deep_learning")
    assert resolve_scope(study_corpus, "deep-learning") == Scope(discipline="deep_learning")
    assert resolve_scope(study_corpus, "backprop") == Scope(note_id="backpropagation")  # an alias, searched
    with pytest.raises(NotFound, match="astrology"):
        resolve_scope(study_corpus, "astrology")
    assert Scope(note_id="a").label == "a" and Scope(discipline="d").label == "d" and Scope().label is None


def test_ties_share_a_rank_and_the_faster_comes_first():
    def att(user, correct, minute):
        return Attempt(user_id=user, note_id="n", item_index=minute, correct=correct, chosen=0,
                       at=NOW + timedelta(minutes=minute))

    scores = score_run([att(1, True, 5), att(2, True, 1), att(3, False, 0), att(1, False, 6), att(4, True, 2),
                        att(4, True, 3)])
    assert [(s.rank, s.user_id, s.correct, s.answered) for s in scores] == \
        [(1, 4, 2, 2), (2, 2, 1, 1), (2, 1, 1, 2), (4, 3, 0, 1)]


@pytest.mark.parametrize("size", [0, MAX_QUESTIONS + 1])
async def test_quiz_sizes_are_bounded(service, size):
    with pytest.raises(InvalidInput):
        await service.quizzes.start(GUILD, 7, "calculus", size, seed=1, now=NOW)
    with pytest.raises(InvalidInput):
        await service.quizzes.start_review(GUILD, 7, size, now=NOW)


async def test_the_largest_quiz_is_allowed(service):
    run = await service.quizzes.start(GUILD, 7, None, MAX_QUESTIONS, seed=1, now=NOW)
    assert len(run.questions) == 10  # every item of the five notes, no more
    assert (await service.quizzes.start(GUILD, 7, "derivatives", 1, seed=1, now=NOW)).questions[0].note_id == \
        "derivatives"


async def test_a_solo_quiz_favours_what_the_learner_has_not_got_right(service, study_corpus):
    first = await service.quizzes.start(GUILD, 7, "derivatives", 1, seed=5, now=NOW)
    q = first.questions[0]
    await service.quizzes.answer(GUILD, first.id, 7, 0, right_choice(study_corpus, q.note_id, q.item_index), NOW)
    for seed in range(4):
        again = await service.quizzes.start(GUILD, 7, "derivatives", 1, seed=seed, now=NOW)
        assert again.questions[0].item_index != q.item_index
    group = {(await service.quizzes.start(GUILD, 7, "derivatives", 1, group=True, seed=s, now=NOW))
             .questions[0].item_index for s in range(8)}
    assert group == {0, 1}  # a group quiz ignores one member's history


async def test_an_answer_reports_the_verdict_and_the_right_option(service, study_corpus):
    run = await service.quizzes.start(GUILD, 7, "chain-rule", 2, seed=3, now=NOW)
    q = run.questions[1]
    item = study_corpus.notes[q.note_id].quiz[q.item_index]
    wrong = wrong_choice(study_corpus, q.note_id, q.item_index)
    out = await service.quizzes.answer(GUILD, run.id, 7, 1, wrong, NOW)
    assert (out.run_id, out.position, out.correct, out.chosen, out.correct_choice) == (run.id, 1, False, wrong,
                                                                                       item.answer)
    assert out.correct_option == item.options[item.answer] and out.why == item.why
    assert out.recorded and not out.user_done
    assert (await service.quizzes.get(GUILD, run.id, 7)).answered == frozenset({1})
    assert (await service.quizzes.get(GUILD, run.id)).answered == frozenset()


async def test_who_may_answer_and_which_positions_and_options_exist(service, study_corpus):
    run = await service.quizzes.start(GUILD, 7, "chain-rule", 2, seed=3, now=NOW)
    with pytest.raises(PermissionDenied):
        await service.quizzes.answer(GUILD, run.id, 8, 0, 0, NOW)
    for position in (-1, 2):
        with pytest.raises(InvalidInput, match="questions 1 to 2"):
            await service.quizzes.answer(GUILD, run.id, 7, position, 0, NOW)
    for choice in (-1, 4):
        with pytest.raises(InvalidInput, match="option from 1 to 4"):
            await service.quizzes.answer(GUILD, run.id, 7, 0, choice, NOW)
    with pytest.raises(PermissionDenied):
        await service.quizzes.finish(GUILD, run.id, 8)
    results = await service.quizzes.finish(GUILD, run.id, 8, moderator=True, now=NOW)
    assert results.finished and results.kind == "solo" and results.total_questions == 2 and results.run_id == run.id
    with pytest.raises(InvalidInput, match="finished"):
        await service.quizzes.answer(GUILD, run.id, 7, 0, 0, NOW)
    with pytest.raises(NotFound):
        await service.quizzes.get(GUILD, run.id + 100)


async def test_a_run_shows_its_owner_and_questions(service):
    run = await service.quizzes.start(GUILD, 7, "chain-rule", 2, seed=3, channel_id=55, now=NOW)
    again = await service.quizzes.get(GUILD, run.id)
    assert (again.guild_id, again.started_by, again.channel_id, again.created_at) == (GUILD, 7, 55, NOW)
    assert again.scope == "chain-rule" and again.kind == "solo"
    assert [q.question for q in again.questions] == [q.question for q in run.questions]
    assert all(q.question and len(q.options) == 4 for q in again.questions)


async def test_a_review_takes_only_due_cards_and_says_when_the_next_is_due(service, study_corpus):
    with pytest.raises(InvalidInput, match="no review cards yet"):
        await service.quizzes.start_review(GUILD, 7, now=NOW)
    run = await service.quizzes.start(GUILD, 7, "chain-rule", 2, seed=3, now=NOW)
    for q in run.questions:
        await service.quizzes.answer(GUILD, run.id, 7, q.position, right_choice(study_corpus, q.note_id,
                                                                                q.item_index), NOW)
    with pytest.raises(InvalidInput, match="Nothing to review right now. The next card is due in 1 day"):
        await service.quizzes.start_review(GUILD, 7, now=NOW)
    review = await service.quizzes.start_review(GUILD, 7, 1, channel_id=9, now=NOW + timedelta(days=1))
    assert review.kind == "review" and len(review.questions) == 1 and review.channel_id == 9
    assert review.scope is None
