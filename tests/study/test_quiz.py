"""Quizzes: choice of questions, scoring, idempotent recording, group leaderboards, restarts."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

import pytest

from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.knowledge import Corpus
from bot.study import Store, StudyService
from bot.study.models import RunQuestion
from bot.study.quiz import pick_items, resolve_item, score_run
from tests.study.conftest import GUILD, NOW, OTHER_GUILD, right_choice, wrong_choice


async def test_a_quiz_on_one_note_asks_only_its_items(service):
    run = await service.quizzes.start(GUILD, 7, "chain-rule", 5, seed=3, now=NOW)
    assert run.kind == "solo" and run.scope == "chain-rule" and run.status == "open"
    assert sorted((q.note_id, q.item_index) for q in run.questions) == [("chain-rule", 0), ("chain-rule", 1)]
    assert [q.position for q in run.questions] == [0, 1]
    assert run.questions[0].note_title == "The chain rule" and len(run.questions[0].options) == 4
    assert run.next_question == run.questions[0]


async def test_a_discipline_quiz_is_seedable(service):
    a = await service.quizzes.start(GUILD, 7, "calculus", 4, seed=42, now=NOW)
    b = await service.quizzes.start(GUILD, 8, "Calculus", 4, seed=42, now=NOW)
    assert [(q.note_id, q.item_index) for q in a.questions] == [(q.note_id, q.item_index) for q in b.questions]
    assert {q.note_id for q in a.questions} <= {"derivatives", "chain-rule", "gradient-descent"}
    orders = {tuple((q.note_id, q.item_index) for q in (await service.quizzes.start(GUILD, 9, None, 5, seed=s,
                                                                                     now=NOW)).questions)
              for s in range(6)}
    assert len(orders) > 1


def test_unseen_and_missed_items_come_first():
    items = [("a", 0), ("a", 1), ("b", 0), ("b", 1)]
    last = {("a", 0): True, ("a", 1): False, ("b", 0): True}
    for seed in range(20):
        assert set(pick_items(items, last, 2, random.Random(seed))) == {("a", 1), ("b", 1)}


async def test_a_solo_quiz_prefers_what_the_learner_has_not_got_right(service, study_corpus):
    first = await service.quizzes.start(GUILD, 7, "calculus", 3, seed=1, now=NOW)
    for q in first.questions:
        await service.quizzes.answer(GUILD, first.id, 7, q.position,
                                     right_choice(study_corpus, q.note_id, q.item_index), NOW)
    second = await service.quizzes.start(GUILD, 7, "calculus", 3, seed=1, now=NOW)
    assert not {(q.note_id, q.item_index) for q in first.questions} & {(q.note_id, q.item_index)
                                                                        for q in second.questions}


async def test_scoring_and_answering_twice_counts_once(service, study_corpus):
    run = await service.quizzes.start(GUILD, 7, "derivatives", 2, seed=1, now=NOW)
    q0, q1 = run.questions
    right = right_choice(study_corpus, q0.note_id, q0.item_index)
    outcome = await service.quizzes.answer(GUILD, run.id, 7, 0, right, NOW)
    assert outcome.correct and outcome.recorded and not outcome.user_done
    assert outcome.correct_choice == right and outcome.why
    again = await service.quizzes.answer(GUILD, run.id, 7, 0, wrong_choice(study_corpus, q0.note_id, q0.item_index),
                                         NOW + timedelta(seconds=5))
    assert again.correct and not again.recorded and again.chosen == right  # the first answer stands
    last = await service.quizzes.answer(GUILD, run.id, 7, 1, wrong_choice(study_corpus, q1.note_id, q1.item_index),
                                        NOW)
    assert not last.correct and last.user_done
    results = await service.quizzes.results(GUILD, run.id)
    assert results.finished  # a solo run closes when its learner has answered everything
    assert [(s.user_id, s.correct, s.answered) for s in results.scores] == [(7, 1, 2)]
    assert len(await service.store.run_attempts(GUILD, run.id)) == 2
    with pytest.raises(InvalidInput, match="finished"):
        await service.quizzes.answer(GUILD, run.id, 7, 0, right, NOW)


async def test_wrong_answers_are_refused_with_clear_errors(service):
    run = await service.quizzes.start(GUILD, 7, "derivatives", 2, seed=1, now=NOW)
    with pytest.raises(PermissionDenied):
        await service.quizzes.answer(GUILD, run.id, 8, 0, 0, NOW)
    with pytest.raises(InvalidInput):
        await service.quizzes.answer(GUILD, run.id, 7, 5, 0, NOW)
    with pytest.raises(InvalidInput):
        await service.quizzes.answer(GUILD, run.id, 7, 0, 4, NOW)
    with pytest.raises(NotFound):
        await service.quizzes.answer(OTHER_GUILD, run.id, 7, 0, 0, NOW)
    with pytest.raises(NotFound):
        await service.quizzes.get(GUILD, 999_999)
    with pytest.raises(NotFound):
        await service.quizzes.start(GUILD, 7, "quantum gravity", now=NOW)
    with pytest.raises(InvalidInput):
        await service.quizzes.start(GUILD, 7, None, 0, now=NOW)
    assert await service.store.run_attempts(GUILD, run.id) == []


async def test_a_group_quiz_ranks_everyone(service, study_corpus):
    run = await service.quizzes.start(GUILD, 1, "calculus", 4, group=True, channel_id=55, seed=5, now=NOW)
    assert run.kind == "group" and run.channel_id == 55
    plan = {10: 4, 11: 2, 12: 2, 13: 0}  # user -> how many right
    for user, right in plan.items():
        for q in run.questions:
            pick = right_choice if q.position < right else wrong_choice
            await service.quizzes.answer(GUILD, run.id, user, q.position,
                                         pick(study_corpus, q.note_id, q.item_index),
                                         NOW + timedelta(seconds=user))
    # Everyone clicks the first question again: nothing changes.
    for user in plan:
        q = run.questions[0]
        outcome = await service.quizzes.answer(GUILD, run.id, user, 0, right_choice(study_corpus, q.note_id, 0), NOW)
        assert not outcome.recorded
    with pytest.raises(PermissionDenied):
        await service.quizzes.finish(GUILD, run.id, 10, now=NOW)
    results = await service.quizzes.finish(GUILD, run.id, 1, now=NOW)
    assert results.finished and results.total_questions == 4
    assert [(s.rank, s.user_id, s.correct, s.answered) for s in results.scores] == [
        (1, 10, 4, 4), (2, 11, 2, 4), (2, 12, 2, 4), (4, 13, 0, 4)]
    assert (await service.quizzes.finish(GUILD, run.id, 99, moderator=True, now=NOW)).scores == results.scores


async def test_a_run_survives_a_restart_without_losing_or_double_counting(db_url, study_corpus):
    service = StudyService(await Store.open(db_url), lambda guild_id: study_corpus)
    run = await service.quizzes.start(GUILD, 7, "calculus", 3, seed=9, now=NOW)
    q = run.questions[0]
    await service.quizzes.answer(GUILD, run.id, 7, 0, right_choice(study_corpus, q.note_id, q.item_index), NOW)
    await service.close()

    service = StudyService(await Store.open(db_url), lambda guild_id: study_corpus)
    try:
        again = await service.quizzes.get(GUILD, run.id, user_id=7)
        assert again.questions == run.questions and again.answered == {0}
        assert again.next_question == run.questions[1]
        replay = await service.quizzes.answer(GUILD, run.id, 7, 0, right_choice(study_corpus, q.note_id, 0), NOW)
        assert not replay.recorded
        for q in again.questions[1:]:
            await service.quizzes.answer(GUILD, run.id, 7, q.position,
                                         right_choice(study_corpus, q.note_id, q.item_index), NOW)
        results = await service.quizzes.results(GUILD, run.id)
        assert [(s.correct, s.answered) for s in results.scores] == [(3, 3)]
    finally:
        await service.close()


def swap_items(corpus: Corpus, note_id: str) -> Corpus:
    note = corpus.notes[note_id]
    notes = dict(corpus.notes)
    notes[note_id] = dataclasses.replace(note, quiz=tuple(reversed(note.quiz)))
    return dataclasses.replace(corpus, notes=notes)


def test_a_moved_item_is_found_by_its_text(study_corpus):
    original = study_corpus.notes["derivatives"].quiz[0]
    stored = RunQuestion(0, "derivatives", 0, original.question)
    note, item = resolve_item(swap_items(study_corpus, "derivatives"), stored)
    assert item == original
    assert resolve_item(study_corpus, RunQuestion(0, "gone", 0, "?")) is None
    assert resolve_item(study_corpus, RunQuestion(0, "derivatives", 7, "?")) is None


async def test_answers_are_judged_against_the_hot_swapped_corpus(store, study_corpus):
    current = {"corpus": study_corpus}
    service = StudyService(store, lambda guild_id: current["corpus"])
    run = await service.quizzes.start(GUILD, 7, "derivatives", 2, seed=1, now=NOW)
    q = run.questions[0]
    right = right_choice(study_corpus, q.note_id, q.item_index)
    current["corpus"] = swap_items(study_corpus, "derivatives")
    outcome = await service.quizzes.answer(GUILD, run.id, 7, q.position, right, NOW)
    assert outcome.correct


def test_a_run_nobody_answered_has_no_scores():
    assert score_run([]) == ()
