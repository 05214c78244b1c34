"""`studybot gaps` and `studybot purge`: the same services as the cogs, from the command line, on SQLite and on
PostgreSQL (STUDYBOT_DATABASE)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from typer.testing import CliRunner

from bot.cli import app
from bot.study import Store
from bot.study.questions import QuestionLog
from tests.databases import BACKENDS, database

pytestmark = pytest.mark.model
A, B, ALICE, BOB = 911111111111111111, 922222222222222222, 933333333333333333, 944444444444444444


def env_for(tmp_path, small_corpus, seeded_index_dir, db_url: str) -> dict[str, str]:
    return {"STUDYBOT_CORPUS_DIR": str(small_corpus), "STUDYBOT_INDEX_DIR": str(seeded_index_dir),
            "STUDYBOT_DATA_DIR": str(tmp_path / "data"), "STUDYBOT_DATABASE": db_url, "HF_HUB_OFFLINE": "1"}


@pytest_asyncio.fixture(loop_scope="function", params=BACKENDS)
async def db_url(request, tmp_path):
    """An empty database: SQLite in the data folder, or a fresh PostgreSQL schema."""
    async with database(request.param, tmp_path) as url:
        yield url


async def seed(url: str) -> None:
    now = datetime.now(UTC)
    async with await Store.open(url) as store:
        questions = QuestionLog(store)
        for q in ("what is dropout in neural networks?", "how does dropout regularization work"):
            await questions.log(A, ALICE, f"{q} <@{ALICE}>", False, None)
        await questions.log(B, BOB, "can someone explain dropout", False, None)
        await questions.log(B, BOB, "an ancient question", False, None, now=now - timedelta(days=400))


async def test_gaps_without_a_guild_covers_every_server_anonymised_and_with_one_only_that_server(
        tmp_path, small_corpus, seeded_index_dir, monkeypatch, db_url):
    monkeypatch.chdir(tmp_path)
    env = env_for(tmp_path, small_corpus, seeded_index_dir, db_url)
    await seed(db_url)
    runner = CliRunner()

    def invoke(*args: str):  # in a thread: each command runs its own event loop (asyncio.run)
        return asyncio.to_thread(runner.invoke, app, list(args), env=env)

    everyone = await invoke("gaps", "--format", "json")
    assert everyone.exit_code == 0, everyone.output
    data = json.loads(everyone.stdout)
    assert data["scope"] == "all" and [g["size"] for g in data["groups"]] == [3]
    for secret in (A, B, ALICE, BOB):
        assert str(secret) not in everyone.stdout

    one = await invoke("gaps", "--guild", str(A), "--format", "csv", "--min-count", "1")
    assert one.exit_code == 0, one.output
    rows = one.stdout.strip().splitlines()
    assert rows[0].startswith("rank,size") and rows[1].startswith("1,2,2,0,dropout,") and len(rows) == 2

    md = await invoke("gaps", "--days", "7")
    assert md.exit_code == 0 and md.stdout.startswith("# Gap report: all servers (anonymised), last 7 days")

    purged = await invoke("purge")
    assert purged.exit_code == 0 and "deleted 1 question(s)" in purged.stdout
