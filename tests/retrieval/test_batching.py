"""The async path the bot uses: concurrent questions are batched, answered like single ones, off the loop."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import InvalidInput
from bot.retrieval.answering import AnswerService
from bot.retrieval.batching import MicroBatcher

QUESTIONS = ["what is Bayes rule?", "how does gradient descent step?", "what does the chain rule say?",
             "how does backprop compute gradients?", "what grill temperature for a steak?"] * 8


@pytest.fixture
def service(small_settings, embedder) -> AnswerService:
    s = AnswerService(small_settings, embedder=embedder)
    s.ensure_ready()
    return s


async def test_concurrent_questions_are_batched_and_match_single_answers(service):
    batcher = MicroBatcher(service, max_batch=16)
    try:
        answers = await asyncio.gather(*(batcher.answer(q) for q in QUESTIONS))
    finally:
        await batcher.close()
    expected = {q: service.answer(q) for q in set(QUESTIONS)}
    assert [(a.answered, a.best.id if a.best else None) for a in answers] == \
        [(expected[q].answered, expected[q].best.id if expected[q].best else None) for q in QUESTIONS]
    assert max(batcher.batches) > 1 and sum(batcher.batches) == len(QUESTIONS)
    assert max(batcher.batches) <= 16


async def test_the_event_loop_keeps_running_while_answering(service):
    batcher = MicroBatcher(service)
    ticks = 0
    done = asyncio.Event()

    async def ticker():
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    try:
        await asyncio.gather(*(batcher.answer(q) for q in QUESTIONS))
    finally:
        done.set()
        await task
        await batcher.close()
    assert ticks > len(QUESTIONS)  # the loop served other work while embeddings ran in threads


async def test_bad_question_fails_alone(service):
    batcher = MicroBatcher(service)
    try:
        good = asyncio.ensure_future(batcher.answer("what is Bayes rule?"))
        with pytest.raises(InvalidInput):
            await batcher.answer("   ")
        assert (await good).best.id == "bayes-theorem"
    finally:
        await batcher.close()


async def test_a_failing_batch_reports_to_its_waiters_and_the_worker_survives(service, monkeypatch):
    batcher = MicroBatcher(service)
    original = service.answer_vectors

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "answer_vectors", broken)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            await batcher.answer("what is Bayes rule?")
        monkeypatch.setattr(service, "answer_vectors", original)
        assert (await batcher.answer("what is Bayes rule?")).best.id == "bayes-theorem"
    finally:
        await batcher.close()
