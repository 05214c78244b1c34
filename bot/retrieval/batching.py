"""Answer questions from async code without blocking the event loop, micro-batching concurrent ones.

Every question awaits a future; one worker task drains the queue, takes whatever arrived (up to
`max_batch`, waiting at most `max_wait` seconds for company), embeds the batch in one forward pass in a
worker thread, and resolves the futures. Under load, batches form naturally while the previous one runs.

Two stages overlap: while one batch's answers are composed (search, fusion, next topics: Python, in a
thread), the next batch's forward pass already runs (onnxruntime and torch release the GIL), so the model never waits
for the bookkeeping.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.retrieval.answering import Answer, AnswerService


@dataclass
class _Pending:
    question: str
    known: frozenset[str]
    guild_id: int | None
    future: asyncio.Future


class MicroBatcher:
    """The async front of an AnswerService, shared by every cog and the benchmark."""

    def __init__(self, service: AnswerService, max_batch: int = 32, max_wait: float = 0.004):
        self.service = service
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: asyncio.Queue[_Pending] | None = None
        self._worker: asyncio.Task | None = None
        self._composing: asyncio.Task | None = None
        self.batches: list[int] = []  # sizes of the batches run (for stats and benchmarks)

    async def answer(self, question: str, known: frozenset[str] = frozenset(), guild_id: int | None = None) -> Answer:
        """Answer one question from what server `guild_id` sees; raises the service's StudybotError for bad input."""
        q = self.service.check_question(question)  # fail fast, before queueing
        loop = asyncio.get_running_loop()
        if self._queue is None or self._worker is None or self._worker.done():
            self._queue = asyncio.Queue()
            self._worker = loop.create_task(self._run(), name="studybot-micro-batcher")
        pending = _Pending(q, known, guild_id, loop.create_future())
        await self._queue.put(pending)
        return await pending.future

    async def close(self) -> None:
        for task in (self._worker, self._composing):
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        self._worker = self._composing = None

    async def _collect(self, queue: asyncio.Queue) -> list[_Pending]:
        """The next batch: the first waiting question plus whatever else arrives within `max_wait`."""
        loop = asyncio.get_running_loop()
        batch = [await queue.get()]
        deadline = loop.time() + self.max_wait
        while len(batch) < self.max_batch:
            if not queue.empty():
                batch.append(queue.get_nowait())
                continue
            timeout = deadline - loop.time()
            if timeout <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(queue.get(), timeout))
            except asyncio.TimeoutError:
                break
        return [p for p in batch if not p.future.cancelled()]

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            batch = await self._collect(queue)
            if not batch:
                continue
            self.batches.append(len(batch))
            try:
                vectors = await asyncio.to_thread(self.service.embedder.encode, self._readings(batch))
            except Exception as exc:  # noqa: BLE001 - delivered to every waiter, the worker lives on
                _fail(batch, exc)
                continue
            if self._composing is not None:
                await self._composing  # at most one batch being composed while the next one embeds
            self._composing = asyncio.create_task(self._compose(batch, vectors))

    async def _compose(self, batch: list[_Pending], vectors) -> None:
        try:
            answers = await asyncio.to_thread(self._answers, batch, vectors)
        except Exception as exc:  # noqa: BLE001
            _fail(batch, exc)
            return
        for p, a in zip(batch, answers):
            if not p.future.done():
                p.future.set_result(a)

    def _readings(self, batch: list[_Pending]) -> list[str]:
        return [self.service.reading(p.question, p.guild_id) for p in batch]

    def _answers(self, batch: list[_Pending], vectors) -> list[Answer]:
        service = self.service
        if len({(p.known, p.guild_id) for p in batch}) == 1:
            return service.answer_vectors([p.question for p in batch], vectors, batch[0].known, batch[0].guild_id)
        return [service.answer_vectors([p.question], vectors[i:i + 1], p.known, p.guild_id)[0]
                for i, p in enumerate(batch)]


def _fail(batch: list[_Pending], exc: BaseException) -> None:
    for p in batch:
        if not p.future.done():
            p.future.set_exception(exc)


__all__ = ["MicroBatcher"]
