from __future__ import annotations

import pytest_asyncio

from bot.config import Settings
from bot.discord.app import build_services
from bot.retrieval.answering import AnswerService
from tests.fakes import FakeClient

OWNER = 4242  # a bot owner (STUDYBOT_OWNER_IDS), no moderator


@pytest_asyncio.fixture(loop_scope="function")
async def services(tmp_path, small_corpus, seeded_index_dir, embedder):
    settings = Settings(corpus_dir=small_corpus, index_dir=seeded_index_dir, data_dir=tmp_path / "data",
                        question_cooldown_burst=2, question_cooldown_seconds=60, _env_file=None)
    s = await build_services(settings, AnswerService(settings, embedder=embedder))
    yield s
    await s.close()


@pytest_asyncio.fixture(loop_scope="function")
async def client(services):
    return FakeClient(services, owner_ids=frozenset({OWNER}))
