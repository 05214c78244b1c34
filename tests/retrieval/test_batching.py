"""The async path the bot uses: concurrent questions are batched, answered like single ones, off the loop."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from bot.errors import InvalidInput
from bot.retrieval.answering import Answer, AnswerService
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


BLOCK = 0.3  # seconds each blocking stand-in call holds its thread


class BlockingEmbedder:
    """Stands in for the model: holds the calling thread like a forward pass does."""

    def encode(self, texts, show_progress=False):
        time.sleep(BLOCK)
        return np.zeros((len(texts), 4), dtype=np.float32)


class BlockingService:
    """Just what the batcher calls on an AnswerService, each step blocking like the real one can."""

    def __init__(self):
        self.embedder = BlockingEmbedder()

    def check_question(self, question: str) -> str:
        return question.strip()

    def reading(self, question: str, guild_id: int | None = None) -> str:
        return question

    def answer_vectors(self, questions, vectors, known=frozenset(), guild_id=None):
        time.sleep(BLOCK)  # search, fusion and next topics: pure Python, seconds for a big batch
        return [Answer(q, False, (), ()) for q in questions]


async def loop_lateness(work) -> tuple[float, object]:
    """(the worst lateness of a 10 ms timer on the event loop while `work` runs, the work's result)."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    done = asyncio.Event()

    async def timer():
        nonlocal worst
        while not done.is_set():
            start = loop.time()
            await asyncio.sleep(0.01)
            worst = max(worst, loop.time() - start - 0.01)

    task = asyncio.create_task(timer())
    await asyncio.sleep(0)
    try:
        result = await work
    finally:
        done.set()
        await task
    return worst, result


async def test_the_event_loop_is_never_blocked_by_the_model_or_the_composing():
    """A blocking stand-in holds each call for 0.3 s; a timer on the loop must stay on time meanwhile."""
    service = BlockingService()
    batcher = MicroBatcher(service)  # type: ignore[arg-type]
    try:
        worst, answers = await loop_lateness(asyncio.gather(*(batcher.answer(f"q{i}") for i in range(6))))
    finally:
        await batcher.close()
    assert [a.question for a in answers] == [f"q{i}" for i in range(6)]
    assert worst < BLOCK / 3, f"the event loop was blocked for {worst:.3f} s"


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
