"""Answer questions from async code without blocking the event loop, micro-batching concurrent ones.

Every question awaits a future; one worker task drains the queue, takes whatever arrived (up to
`max_batch`, waiting at most `max_wait` seconds for company), embeds the batch in one forward pass in a
worker thread, and resolves the futures. Under load, batches form naturally while the previous one runs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.retrieval.answering import Answer, AnswerService


@dataclass
class _Pending:
    question: str
    known: frozenset[str]
    future: asyncio.Future


class MicroBatcher:
    """The async front of an AnswerService, shared by every cog and the benchmark."""

    def __init__(self, service: AnswerService, max_batch: int = 32, max_wait: float = 0.004):
        self.service = service
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: asyncio.Queue[_Pending] | None = None
        self._worker: asyncio.Task | None = None
        self.batches: list[int] = []  # sizes of the batches run (for stats and benchmarks)

    async def answer(self, question: str, known: frozenset[str] = frozenset()) -> Answer:
        """Answer one question; raises the service's StudybotError for bad input."""
        q = self.service.check_question(question)  # fail fast, before queueing
        loop = asyncio.get_running_loop()
        if self._queue is None or self._worker is None or self._worker.done():
            self._queue = asyncio.Queue()
            self._worker = loop.create_task(self._run(), name="studybot-micro-batcher")
        pending = _Pending(q, known, loop.create_future())
        await self._queue.put(pending)
        return await pending.future

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            batch = [await queue.get()]
            deadline = asyncio.get_running_loop().time() + self.max_wait
            while len(batch) < self.max_batch:
                timeout = deadline - asyncio.get_running_loop().time()
                try:
                    batch.append(queue.get_nowait() if not queue.empty() or timeout <= 0 else
                                 await asyncio.wait_for(queue.get(), timeout))
                except (asyncio.QueueEmpty, asyncio.TimeoutError):
                    break
            batch = [p for p in batch if not p.future.cancelled()]
            if not batch:
                continue
            self.batches.append(len(batch))
            try:
                answers = await asyncio.to_thread(self._answer_batch, batch)
            except Exception as exc:  # noqa: BLE001 - delivered to every waiter, the worker lives on
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(exc)
                continue
            for p, a in zip(batch, answers):
                if not p.future.done():
                    p.future.set_result(a)

    def _answer_batch(self, batch: list[_Pending]) -> list[Answer]:
        service = self.service
        vectors = service.embedder.encode([p.question for p in batch])
        if len({p.known for p in batch}) == 1:
            return service.answer_vectors([p.question for p in batch], vectors, batch[0].known)
        return [service.answer_vectors([p.question], vectors[i:i + 1], p.known)[0] for i, p in enumerate(batch)]


__all__ = ["MicroBatcher"]
