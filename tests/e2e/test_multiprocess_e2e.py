"""Two `studybot run` processes, shards 0 and 1 of 2, on one PostgreSQL and the loopback fake Discord.

Guild A is on shard 0 (process A), guild B on shard 1 (process B). What the processes share is only the
database: a reminder is posted once, by its shard's owner; a note added through A answers in B within 2 s
(the guild's events handed to B, as during a reshard); kill -9 of B mid-quiz loses no recorded answer, and the
quiz goes on in A. Needs STUDYBOT_TEST_DATABASE (skips without it). About 20 s: two processes load the model.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from bot.study.storage import Store, to_db_time
from tests.conftest import REPO
from tests.databases import pg_schema
from tests.e2e.conftest import button_ids
from tests.e2e.fake_discord import FakeDiscord
from tests.notes_factory import note_text

pytestmark = pytest.mark.e2e  # skips without STUDYBOT_TEST_DATABASE (fails under CI=true): see pg_schema

SHARDS = 2
ZORBLAX = note_text("zorblax", "calculus", title="The zorblax activation", prerequisites=["derivatives"],
                    intuition="The zorblax activation squashes its input into the zorblax band between minus two "
                              "and two, like a stretched sigmoid.",
                    why="Zorblax units keep activations bounded.")


class BotProcess:
    """One `studybot run` child process and where its log goes."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process, log_path):
        self.name, self.proc, self.log_path = name, proc, log_path

    async def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.returncode is not None:
                raise AssertionError(f"bot {self.name} not ready:\n{self.log_path.read_text()[-3000:]}")
            try:
                line = await asyncio.wait_for(self.proc.stdout.readline(), left)
            except TimeoutError:
                continue
            if b"STUDYBOT READY" in line:
                return
            if not line:
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


@pytest_asyncio.fixture(loop_scope="function")
async def cluster(tmp_path, small_corpus, seeded_index_dir):
    async with pg_schema("e2e") as db_url, FakeDiscord(guild_name="Guild A") as fake:
        guild_b = fake.add_guild("Guild B")
        while fake.shard_of(guild_b, SHARDS) == fake.shard_of(fake.guild_id, SHARDS):
            time.sleep(0.002)  # snowflakes carry the millisecond: the next guild lands on the other shard
            guild_b = fake.add_guild("Guild B")
        procs = {}
        for name, guild in (("A", fake.guild_id), ("B", guild_b)):
            shard = fake.shard_of(guild, SHARDS)
            index_dir = tmp_path / f"index-{name}"
            shutil.copytree(seeded_index_dir, index_dir)
            env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "DISCORD_TOKEN": "fake",
                   "STUDYBOT_DATABASE": db_url, "STUDYBOT_SHARD_COUNT": str(SHARDS), "STUDYBOT_SHARD_IDS": str(shard),
                   "STUDYBOT_CORPUS_DIR": str(small_corpus), "STUDYBOT_INDEX_DIR": str(index_dir),
                   "STUDYBOT_DATA_DIR": str(tmp_path / f"data-{name}"), "STUDYBOT_REMINDER_INTERVAL_SECONDS": "0.5",
                   "STUDYBOT_NOTES_POLL_SECONDS": "0.5", "STUDYBOT_QUESTION_COOLDOWN_BURST": "50"}
            log_path = tmp_path / f"bot-{name}.log"
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.e2e.studybot_at_fake", fake.base_url, cwd=tmp_path, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=open(log_path, "wb"))
            procs[name] = BotProcess(name, proc, log_path)
        try:
            await asyncio.gather(*(p.wait_ready() for p in procs.values()))
            store = await Store.open(db_url)
            try:
                yield fake, guild_b, procs, store
            finally:
                await store.close()
        finally:
            for p in procs.values():
                await p.stop()
    assert fake.unknown_requests == []


async def reply(fake, user, command, options=None, *, channel, shard=None):
    iid = await fake.slash(user, command, options, channel=channel, shard=shard)
    return await fake.wait_for_interaction_reply(iid, timeout=30)


async def test_two_processes_share_reminders_notes_and_quizzes(cluster):
    fake, guild_b, procs, store = cluster
    shard_a = fake.shard_of(fake.guild_id, SHARDS)
    b_general = guild_b["general"]

    # 1. A reminder that falls due during the test is posted exactly once (by A, the owner of guild A's shard).
    await reply(fake, fake.alice, "group create", {"name": "Calc", "channel": fake.study}, channel=fake.general)
    made = await reply(fake, fake.alice, "session schedule", {"group": "Calc", "when": "in 2 hours"},
                       channel=fake.general)
    assert "<t:" in made.content
    due = datetime.now(UTC) + timedelta(seconds=1)
    async with store.transaction() as tx:  # the session was scheduled long ago: its reminder falls due now
        assert await tx.execute("UPDATE study_sessions SET remind_at = ? WHERE guild_id = ?", to_db_time(due),
                                fake.guild_id) == 1
    await fake.wait_for_message(fake.study, lambda m: "Calc" in m["content"], timeout=15)
    await asyncio.sleep(3)  # six more passes of both processes' loops
    reminders = [m for m in fake.messages_in(fake.study) if "Calc" in m["content"]]
    assert len(reminders) == 1 and fake.nonce_hits == 0
    async with store.read() as tx:
        assert await tx.fetchval("SELECT reminder_sent_at IS NOT NULL FROM study_sessions") is True

    # 2. A note added through A answers in B within 2 s (guild A's events handed to B, as during a reshard).
    added = await reply(fake, fake.admin, ("corpus", "add"), {"file": ("zorblax.md", ZORBLAX.encode())},
                        channel=fake.general)
    assert "added" in added.embeds[0]["description"]
    started, answered = time.monotonic(), None
    while time.monotonic() - started < 2.0:
        got = await reply(fake, fake.alice, "ask", {"question": "what does the zorblax activation squash?",
                                                    "private": True}, channel=fake.general, shard=1 - shard_a)
        if got.embeds and got.embeds[0]["title"] == "The zorblax activation":
            answered = time.monotonic() - started
            break
    assert answered is not None, "process B did not answer from the note added through A within 2 s"

    # 3. kill -9 of B mid-quiz loses no recorded answer; the quiz goes on in A.
    quiz = await reply(fake, fake.bob, "quiz", {"count": 3}, channel=b_general)
    message = quiz.message
    for _ in range(2):
        custom = button_ids(message["components"])[0]
        message = (await fake.wait_for_interaction_reply(await fake.click(fake.bob, message, custom))).message
    third = button_ids(message["components"])[0]
    run_id = int(third.split(":")[1])
    await fake.click(fake.bob, message, third)
    procs["B"].proc.kill()  # SIGKILL, while the third answer may be in flight
    await procs["B"].proc.wait()
    attempts = await store.run_attempts(int(guild_b["id"]), run_id, int(fake.bob["id"]))
    assert len(attempts) in (2, 3)  # both acknowledged answers kept; the in-flight one whole or not at all
    retried = await fake.wait_for_interaction_reply(await fake.click(fake.bob, message, third, shard=shard_a))
    assert retried.embeds and retried.embeds[-1]["title"].startswith("🏁 Finished")
    attempts = await store.run_attempts(int(guild_b["id"]), run_id, int(fake.bob["id"]))
    assert len(attempts) == 3 and len({(a.note_id, a.item_index) for a in attempts}) == 3
    async with store.read() as tx:
        events = await tx.fetchval("SELECT SUM(events) FROM daily_activity WHERE guild_id = ? AND user_id = ?",
                                   int(guild_b["id"]), int(fake.bob["id"]))
    assert events == 3  # each answer counted once in the streak, through two processes
