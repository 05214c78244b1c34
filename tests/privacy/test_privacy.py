"""Learners own their data: export, forget-me, the retention purge and the grace period of a server the bot left."""

from __future__ import annotations

import json

from bot.study.questions import QuestionLog
from tests.privacy.conftest import ALICE, BOB, NOW, days, learner_rows
from tests.study.conftest import GUILD, OTHER_GUILD


# Each table's own key: rows in insertion order where the table has an id (the same order on both backends).
ORDER = {"review_cards": "created_at, note_id, item_index", "review_reminders": "guild_id, user_id",
         "daily_activity": "guild_id, user_id, day", "group_members": "guild_id, group_id, user_id"}


async def rows_of(store, table: str, **where) -> list[dict]:
    clause = " AND ".join(f"{k} = ?" for k in where) or "1 = 1"
    async with store.read() as tx:
        rows = await tx.fetch(f"SELECT * FROM {table} WHERE {clause} ORDER BY {ORDER.get(table, 'id')}",
                              *where.values())
    return [dict(r) for r in rows]


LEARNER_TABLES = ("question_log", "answer_feedback", "quiz_attempts", "review_cards", "review_reminders",
                  "study_events", "daily_activity", "group_members")


async def snapshot(store, guild_id: int, user_id: int) -> dict[str, list[dict]]:
    return {t: await rows_of(store, t, guild_id=guild_id, user_id=user_id) for t in LEARNER_TABLES}


# -- export ---------------------------------------------------------------------------------------------------


async def test_an_export_holds_only_that_learners_rows_in_that_server(store, privacy):
    await learner_rows(store, GUILD, ALICE)
    await learner_rows(store, GUILD, BOB)
    await learner_rows(store, OTHER_GUILD, ALICE, tag="elsewhere")
    # Bob rates Alice's answer: his vote is not Alice's data.
    alice_answered = (await rows_of(store, "question_log", guild_id=GUILD, user_id=ALICE))[1]["id"]
    await store.add_feedback(GUILD, alice_answered, BOB, True, None, NOW)

    export = await privacy.export(GUILD, ALICE, now=NOW)
    data = json.loads(export.to_json())

    assert data["guild_id"] == GUILD and data["user_id"] == ALICE
    mine = await snapshot(store, GUILD, ALICE)
    for table in ("question_log", "answer_feedback", "quiz_attempts", "review_cards", "review_reminders",
                  "study_events", "daily_activity", "group_members"):
        assert len(data[table]) == len(mine[table]) > 0, table
    text = json.dumps(data)
    assert "elsewhere" not in text  # nothing of her other server
    assert f"dropout  {BOB}" not in text and f"too short  {BOB}" not in text  # nothing of Bob's
    assert [f["helpful"] for f in data["answer_feedback"]] == [0]  # her own vote only, not Bob's 👍
    assert all(q["question"].endswith(f"{ALICE}?") for q in data["question_log"])
    assert set(data["about"]) >= set(LEARNER_TABLES)


# -- forget-me ------------------------------------------------------------------------------------------------


async def test_forget_me_deletes_the_learners_data_here_and_leaves_other_learners_rows_intact(store, privacy):
    questions = QuestionLog(store)
    alice = await learner_rows(store, GUILD, ALICE)
    await learner_rows(store, GUILD, BOB)
    await learner_rows(store, OTHER_GUILD, ALICE, tag="elsewhere")
    await store.add_feedback(GUILD, alice["answered"], BOB, True, None, NOW)  # Bob's 👍 on Alice's answer
    bob_before = await snapshot(store, GUILD, BOB)
    alice_elsewhere = await snapshot(store, OTHER_GUILD, ALICE)
    stats_before = await questions.stats(GUILD)

    counts = await privacy.forget(GUILD, ALICE)

    assert counts.questions == 2 and counts.feedback == 1 and counts.quiz_attempts == 1 and counts.review_cards >= 2
    after = await snapshot(store, GUILD, ALICE)
    assert all(rows == [] for table, rows in after.items() if table != "group_members"), after
    # Nothing left anywhere with her words or her id in this server.
    for table in ("question_log", "answer_feedback"):
        for row in await rows_of(store, table, guild_id=GUILD):
            assert str(ALICE) not in (row["question"] or "") and "too short  7" not in (row.get("reason") or "")
    # Bob's rows are exactly as they were (his vote on her answer stays, with its verdict).
    bob_after = await snapshot(store, GUILD, BOB)
    bob_vote = [r for r in bob_after["answer_feedback"] if r["question_id"] == alice["answered"]]
    assert len(bob_vote) == 1 and bob_vote[0]["helpful"] == 1 and bob_vote[0]["question"] == ""
    strip = lambda rows: [{k: v for k, v in r.items() if k != "question"} for r in rows]  # noqa: E731
    assert strip(bob_after["answer_feedback"]) == strip(bob_before["answer_feedback"])
    assert {t: r for t, r in bob_after.items() if t != "answer_feedback"} == \
           {t: r for t, r in bob_before.items() if t != "answer_feedback"}
    # Her data in the other server is untouched; this server's counts stay.
    assert await snapshot(store, OTHER_GUILD, ALICE) == alice_elsewhere
    assert await questions.stats(GUILD) == stats_before


# -- retention ------------------------------------------------------------------------------------------------


async def test_the_retention_purge_deletes_only_old_question_and_feedback_rows(store, privacy):
    old, recent = NOW - days(181), NOW - days(179)
    await learner_rows(store, GUILD, ALICE, at=old, tag="old")
    await learner_rows(store, OTHER_GUILD, BOB, at=old, tag="old")
    await learner_rows(store, GUILD, BOB, at=recent, tag="recent")
    # An old question rated recently stays until its vote expires too.
    kept = await store.log_question(GUILD, ALICE, "an old question rated late", True, "chain-rule", old, "2025-09-01")
    await store.add_feedback(GUILD, kept, BOB, False, "late vote", recent)
    other_tables = ("quiz_attempts", "review_cards", "review_reminders", "study_events", "daily_activity",
                    "group_members", "study_groups", "quiz_runs")
    before = {t: await rows_of(store, t) for t in other_tables}

    purged = await privacy.purge_expired(now=NOW)

    assert (purged.questions, purged.feedback) == (4, 2)
    remaining = await rows_of(store, "question_log")
    assert sorted(r["question"] for r in remaining) == sorted(
        ["an old question rated late", f"what is dropout recent {BOB}?", f"what is the chain rule recent {BOB}?"])
    assert {r["reason"] for r in await rows_of(store, "answer_feedback")} == {"late vote", f"too short recent {BOB}"}
    assert {t: await rows_of(store, t) for t in other_tables} == before  # nothing else
    assert (await privacy.purge_expired(now=NOW)).questions == 0  # idempotent


# -- servers the bot left --------------------------------------------------------------------------------------


async def test_a_server_the_bot_left_is_deleted_after_the_grace_period_and_only_that_server(store, privacy):
    deleted: list[int] = []
    privacy._on_guild_deleted = deleted.append
    await learner_rows(store, GUILD, ALICE)
    await learner_rows(store, OTHER_GUILD, ALICE)
    async with store.transaction() as tx:
        await tx.execute("INSERT INTO server_notes (guild_id, note_id, markdown, updated_by, updated_at) "
                         "VALUES (?, 'x', 'md', 1, '2026-03-02T12:00:00.000000Z')", GUILD)
    other_before = await store.table_counts(OTHER_GUILD)

    await privacy.guild_removed(GUILD, now=NOW)
    assert (await privacy.daily(present=[OTHER_GUILD], now=NOW + days(29))).guilds_deleted == ()
    assert (await store.table_counts(GUILD))["question_log"] == 2

    report = await privacy.daily(present=[OTHER_GUILD], now=NOW + days(31))

    assert report.guilds_deleted == (GUILD,) and deleted == [GUILD]
    assert all(n == 0 for n in (await store.table_counts(GUILD)).values())
    assert await store.table_counts(OTHER_GUILD) == other_before


async def test_a_server_that_adds_the_bot_back_within_the_grace_period_keeps_its_data(store, privacy):
    await learner_rows(store, GUILD, ALICE)
    before = await store.table_counts(GUILD)
    await privacy.guild_removed(GUILD, now=NOW)
    await privacy.guilds_present([GUILD])  # added back (on_guild_join, or found at start)
    assert (await privacy.daily(now=NOW + days(60))).guilds_deleted == ()
    assert await store.table_counts(GUILD) == before
    # A process that does not own the server's shard never deletes it.
    await privacy.guild_removed(GUILD, now=NOW)
    assert await privacy.purge_departed(now=NOW + days(31), owns=lambda guild_id: False) == []
    assert await store.table_counts(GUILD) == {**before, "guild_departures": 1}
