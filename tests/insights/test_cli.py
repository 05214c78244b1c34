"""`studybot gaps` and `studybot purge`: the same services as the cogs, from the command line."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.study import Store
from bot.study.questions import QuestionService

pytestmark = pytest.mark.model
A, B, ALICE, BOB = 911111111111111111, 922222222222222222, 933333333333333333, 944444444444444444


def env_for(tmp_path, small_corpus, seeded_index_dir) -> dict[str, str]:
    return {"STUDYBOT_CORPUS_DIR": str(small_corpus), "STUDYBOT_INDEX_DIR": str(seeded_index_dir),
            "STUDYBOT_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}


async def seed(path) -> None:
    now = datetime.now(UTC)
    async with await Store.open(path) as store:
        questions = QuestionService(store)
        for q in ("what is dropout in neural networks?", "how does dropout regularization work"):
            await questions.log(A, ALICE, f"{q} <@{ALICE}>", False, None)
        await questions.log(B, BOB, "can someone explain dropout", False, None)
        await questions.log(B, BOB, "an ancient question", False, None, now=now - timedelta(days=400))


def test_gaps_without_a_guild_covers_every_server_anonymised_and_with_one_only_that_server(
        tmp_path, small_corpus, seeded_index_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = env_for(tmp_path, small_corpus, seeded_index_dir)
    asyncio.run(seed(tmp_path / "data" / "studybot.sqlite3"))
    runner = CliRunner()

    everyone = runner.invoke(app, ["gaps", "--format", "json"], env=env)
    assert everyone.exit_code == 0, everyone.output
    data = json.loads(everyone.stdout)
    assert data["scope"] == "all" and [g["size"] for g in data["groups"]] == [3]
    for secret in (A, B, ALICE, BOB):
        assert str(secret) not in everyone.stdout

    one = runner.invoke(app, ["gaps", "--guild", str(A), "--format", "csv", "--min-count", "1"], env=env)
    assert one.exit_code == 0, one.output
    rows = one.stdout.strip().splitlines()
    assert rows[0].startswith("rank,size") and rows[1].startswith("1,2,2,0,dropout,") and len(rows) == 2

    md = runner.invoke(app, ["gaps", "--days", "7"], env=env)
    assert md.exit_code == 0 and md.stdout.startswith("# Gap report: all servers (anonymised), last 7 days")

    purged = runner.invoke(app, ["purge"], env=env)
    assert purged.exit_code == 0 and "deleted 1 question(s)" in purged.stdout
