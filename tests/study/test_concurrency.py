"""Several processes on one database (two Stores here, on both backends): what the database guarantees.

Reminders are claimed per guild shard with a lease; an answer counts once; review cards and streak days
stay consistent when two processes write for one learner at once.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.study.models import ShardScope
from bot.study.review import scheduler
from bot.study.service import StudyService
from bot.study.storage import Store
from tests.study.conftest import GUILD, NOW

DAY = "2026-03-02"
SHARD0_GUILD, SHARD1_GUILD = 0 << 22, 1 << 22  # (guild_id >> 22) % 2 is the shard, as on Discord


async def two_processes(db_url, study_corpus) -> tuple[StudyService, StudyService]:
    a, b = await Store.open(db_url), await Store.open(db_url)
    return StudyService(a, lambda guild_id: study_corpus), StudyService(b, lambda guild_id: study_corpus)


async def test_a_reminder_claimed_by_a_process_that_died_is_posted_by_another_after_the_lease(db_url, study_corpus):
    a, b = await two_processes(db_url, study_corpus)
    try:
        await a.groups.create(GUILD, 1, "Calc", channel_id=5, now=NOW)
        session = await a.groups.schedule(GUILD, 1, "Calc", "in 1 hour", now=NOW)
        due = session.remind_at + timedelta(seconds=5)
        [claimed] = await a.groups.due_reminders(due)  # process A claims it, then dies before posting
        assert await b.groups.due_reminders(due + timedelta(seconds=30)) == []  # A's lease still holds
        [again] = await b.groups.due_reminders(due + a.groups.reminder_lease)  # the lease ran out: B takes over
        assert again.session.id == claimed.session.id
        assert await b.groups.reminder_sent(again, due + a.groups.reminder_lease)
        later = due + 10 * a.groups.reminder_lease
        assert await a.groups.due_reminders(later) == [] and await b.groups.due_reminders(later) == []
        assert (await b.store.session(GUILD, session.id)).reminder_sent_at is not None
    finally:
        await a.close()
        await b.close()


async def test_each_process_claims_only_the_reminders_of_its_shards(db_url, study_corpus):
    a, b = await two_processes(db_url, study_corpus)
    try:
        for guild in (SHARD0_GUILD, SHARD1_GUILD):
            await a.groups.create(guild, 1, "Calc", channel_id=5, now=NOW)
            await a.groups.schedule(guild, 1, "Calc", "in 1 hour", now=NOW)
        due = NOW + timedelta(minutes=50)
        shard0, shard1 = ShardScope(2, frozenset({0})), ShardScope(2, frozenset({1}))
        got0, got1 = await asyncio.gather(a.groups.due_reminders(due, shard0), b.groups.due_reminders(due, shard1))
        assert [r.session.guild_id for r in got0] == [SHARD0_GUILD]
        assert [r.session.guild_id for r in got1] == [SHARD1_GUILD]
    finally:
        await a.close()
        await b.close()


async def test_many_concurrent_claims_hand_out_each_reminder_once(db_url, study_corpus):
    a, b = await two_processes(db_url, study_corpus)
    try:
        for n in range(6):
            await a.groups.create(GUILD, 1, f"G{n}", channel_id=5, now=NOW)
            await a.groups.schedule(GUILD, 1, f"G{n}", "in 1 hour", now=NOW)
        due = NOW + timedelta(minutes=50)
        claims = await asyncio.gather(*(svc.groups.due_reminders(due) for svc in (a, b) * 6))
        ids = [r.session.id for claim in claims for r in claim]
        assert sorted(ids) == sorted(set(ids)) and len(ids) == 6
    finally:
        await a.close()
        await b.close()


async def test_answers_of_one_learner_from_two_processes_keep_cards_and_streaks_consistent(db_url):
    a, b = await Store.open(db_url), await Store.open(db_url)
    try:
        items = [("derivatives", i, "q") for i in range(2)]
        runs = [await a.create_run(GUILD, "solo", u, None, None, 1, items, NOW) for u in range(10) for _ in (0, 1)]

        async def answer(store: Store, run, index: int) -> bool:
            _, created = await store.record_answer(GUILD, run.id, run.started_by, "derivatives", index, 0, True,
                                                   NOW, DAY, scheduler(True, NOW))
            return created

        # Each learner answers the same two items in two runs at once, through two processes, twice each.
        jobs = [answer(store, run, i) for run in runs for i in (0, 1) for store in (a, b)]
        assert sum(await asyncio.gather(*jobs)) == len(runs) * 2
        for user in range(10):
            for index in (0, 1):  # two correct reviews of the card, applied one after the other
                assert (await a.card(GUILD, user, "derivatives", index)).repetitions == 2
            async with a.read() as tx:
                events = await tx.fetchval("SELECT events FROM daily_activity WHERE guild_id = ? AND user_id = ?",
                                           GUILD, user)
            assert events == 4
    finally:
        await a.close()
        await b.close()
