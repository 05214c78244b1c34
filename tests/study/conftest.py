"""Fixtures for the study layer: a small real corpus, a fresh database per test, the service over both."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import pytest_asyncio

from bot.knowledge import Corpus, load_corpus
from bot.study import Store, StudyService
from tests.databases import BACKENDS, database
from tests.notes_factory import write_small_corpus

# A Monday, noon UTC. Every test passes `now` explicitly, so nothing depends on the real clock.
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
GUILD = 111
OTHER_GUILD = 222


@pytest.fixture(scope="session")
def study_corpus(tmp_path_factory) -> Corpus:
    """The five-note corpus of tests/notes_factory.py (each note has two quiz items)."""
    return load_corpus(write_small_corpus(tmp_path_factory.mktemp("study-corpus") / "corpus"))


@pytest_asyncio.fixture(loop_scope="function", params=BACKENDS)
async def db_url(request, tmp_path):
    """The URL of an empty database: each storage test runs on SQLite and on PostgreSQL."""
    async with database(request.param, tmp_path) as url:
        yield url


@pytest_asyncio.fixture(loop_scope="function")
async def store(db_url):
    s = await Store.open(db_url)
    yield s
    await s.close()


@pytest_asyncio.fixture(loop_scope="function")
async def service(store, study_corpus) -> StudyService:
    return StudyService(store, lambda guild_id: study_corpus)


def right_choice(corpus: Corpus, note_id: str, item_index: int) -> int:
    """The correct option index of an item."""
    return corpus.notes[note_id].quiz[item_index].answer


def wrong_choice(corpus: Corpus, note_id: str, item_index: int) -> int:
    """An incorrect option index of an item."""
    return (right_choice(corpus, note_id, item_index) + 1) % 4
