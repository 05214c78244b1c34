"""Fixtures for privacy: a fresh database per test (SQLite and PostgreSQL, as in tests/study), and a helper that gives
a learner rows of every kind."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest_asyncio

from bot.privacy import PrivacyService
from bot.study import Store
from bot.study.models import Audit
from bot.study.review import scheduler
from tests.databases import BACKENDS, database
from tests.study.conftest import NOW

ALICE, BOB = 7, 8


@pytest_asyncio.fixture(loop_scope="function", params=BACKENDS)
async def db_url(request, tmp_path):
    """The URL of an empty database: each privacy test runs on SQLite and on PostgreSQL (its own schema)."""
    async with database(request.param, tmp_path) as url:
        yield url


@pytest_asyncio.fixture(loop_scope="function")
async def store(db_url):
    s = await Store.open(db_url)
    yield s
    await s.close()


@pytest_asyncio.fixture(loop_scope="function")
async def privacy(store) -> PrivacyService:
    return PrivacyService(store, retention_days=180, grace_days=30)


async def learner_rows(store: Store, guild_id: int, user_id: int, at: datetime = NOW, tag: str = "") -> dict:
    """One row of every kind for a learner in a server: a question (rated 👎 with a reason), a quiz attempt, a review
    card, a study event and streak day, a reminder, a group. Returns the ids made."""
    day = at.date().isoformat()
    qid = await store.log_question(guild_id, user_id, f"what is dropout {tag} {user_id}?", False, None, at, day)
    answered = await store.log_question(guild_id, user_id, f"what is the chain rule {tag} {user_id}?", True,
                                        "chain-rule", at, day)
    await store.add_feedback(guild_id, answered, user_id, False, f"too short {tag} {user_id}", at)
    run = await store.create_run(guild_id, "solo", user_id, None, None, 1, [("derivatives", 0, "q?")], at)
    await store.record_answer(guild_id, run.id, user_id, "derivatives", 0, 1, True, at, day, scheduler(True, at))
    await store.record_study(guild_id, user_id, "chain-rule", "opened", at, day, new_cards=[0, 1], due_at=at)
    await store.set_review_reminder(guild_id, user_id, 9)
    group = await store.create_group(guild_id, f"group {tag} {user_id}", None, None, user_id, at)
    return {"refused": qid, "answered": answered, "run": run.id, "group": group.id if group else None}


def days(n: float) -> timedelta:
    return timedelta(days=n)


__all__ = ["ALICE", "BOB", "Audit", "NOW", "days", "learner_rows"]
