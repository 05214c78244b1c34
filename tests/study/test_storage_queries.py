"""What users see of stored answers, runs and sessions: leaderboard numbers, answer history, reminder claims.

Runs on every backend fixture (SQLite, and PostgreSQL when STUDYBOT_TEST_DATABASE is set).
"""

from __future__ import annotations

from datetime import timedelta

from bot.study.models import Audit, CardState, ShardScope
from tests.study.conftest import GUILD, NOW, OTHER_GUILD

OWNER = 1
HOUR = timedelta(hours=1)
QUESTIONS = [("n1", 0, "q1"), ("n1", 1, "q2"), ("n2", 0, "q3"), ("n2", 1, "q4")]


def _schedule(card):
    return CardState(due_at=NOW + timedelta(days=1), repetitions=1, interval_days=1)


async def _answer(store, run_id, user, q, correct, at=NOW, guild=GUILD, chosen=None):
    note_id, index, _ = QUESTIONS[q]
    chosen = (1 if correct else 2) if chosen is None else chosen
    return await store.record_answer(guild, run_id, user, note_id, index, chosen, correct, at, "2026-03-02",
                                     _schedule)


async def _run(store, guild=GUILD):
    return await store.create_run(guild, "group", OWNER, "scope-x", 55, 1234, QUESTIONS, NOW)


# --- the correct-answers leaderboard -------------------------------------------------------------------------

async def test_leaderboard_counts_correct_answers_best_first_ties_by_user_id(store):
    run = await _run(store)
    for user, results in {7: [1, 1, 1, 0], 5: [1, 1, 0, 0], 3: [0, 1, 1, 0], 9: [0, 0, 0, 0]}.items():
        for q, ok in enumerate(results):
            await _answer(store, run.id, user, q, bool(ok))
    other = await _run(store, OTHER_GUILD)
    for q in range(4):  # another server's answers never count here
        await _answer(store, other.id, 3, q, True, guild=OTHER_GUILD)
    assert await store.correct_counts(GUILD) == [(7, 3), (3, 2), (5, 2)]  # 9 has none: not listed
    assert await store.correct_counts(GUILD, limit=2) == [(7, 3), (3, 2)]
    assert await store.correct_counts(OTHER_GUILD) == [(3, 4)]


async def test_leaderboard_shows_ten_by_default(store):
    run = await _run(store)
    for user in range(100, 112):
        await _answer(store, run.id, user, 0, True)
    board = await store.correct_counts(GUILD)
    assert board == [(user, 1) for user in range(100, 110)]


async def test_leaderboard_since_a_moment_and_of_a_group(store):
    run = await _run(store)
    await _answer(store, run.id, 3, 0, True, at=NOW - HOUR)      # before the window
    await _answer(store, run.id, 3, 1, True, at=NOW + HOUR)
    await _answer(store, run.id, 5, 0, True, at=NOW)             # exactly at the start counts
    await _answer(store, run.id, 5, 1, True, at=NOW + HOUR)
    await _answer(store, run.id, 7, 0, True, at=NOW + HOUR)
    assert await store.correct_counts(GUILD, since=NOW) == [(5, 2), (3, 1), (7, 1)]
    assert await store.correct_counts(GUILD) == [(3, 2), (5, 2), (7, 1)]
    group = await store.create_group(GUILD, "Calc", None, None, 3, NOW)
    await store.add_member(GUILD, group.id, 7, NOW)
    assert await store.correct_counts(GUILD, group_id=group.id) == [(3, 2), (7, 1)]
    assert await store.correct_counts(GUILD, since=NOW, group_id=group.id) == [(3, 1), (7, 1)]
    assert await store.correct_counts(OTHER_GUILD, group_id=group.id) == []


# --- answer history -----------------------------------------------------------------------------------------

async def test_answer_history_of_a_user_a_group_and_since_a_moment(store):
    run = await _run(store)
    await _answer(store, run.id, 3, 0, True, at=NOW - HOUR, chosen=1)
    await _answer(store, run.id, 5, 0, False, at=NOW, chosen=3)
    await _answer(store, run.id, 3, 2, False, at=NOW + HOUR, chosen=0)
    await _answer(store, run.id, 7, 1, True, at=NOW + HOUR)
    everyone = await store.attempts(GUILD)
    assert [(a.user_id, a.note_id, a.item_index, a.correct, a.chosen) for a in everyone] == [
        (3, "n1", 0, True, 1), (5, "n1", 0, False, 3), (3, "n2", 0, False, 0), (7, "n1", 1, True, 1)]
    assert [a.at for a in everyone] == [NOW - HOUR, NOW, NOW + HOUR, NOW + HOUR]
    assert {a.run_id for a in everyone} == {run.id}
    assert [(a.note_id, a.item_index) for a in await store.attempts(GUILD, user_id=3)] == [("n1", 0), ("n2", 0)]
    assert [a.user_id for a in await store.attempts(GUILD, since=NOW)] == [5, 3, 7]
    group = await store.create_group(GUILD, "Calc", None, None, 5, NOW)
    await store.add_member(GUILD, group.id, 7, NOW)
    assert [a.user_id for a in await store.attempts(GUILD, group_id=group.id)] == [5, 7]
    assert [a.user_id for a in await store.attempts(GUILD, since=NOW + HOUR, group_id=group.id)] == [7]
    assert await store.attempts(OTHER_GUILD) == []
    assert [a.item_index for a in await store.run_attempts(GUILD, run.id, user_id=3)] == [0, 0]
    assert [a.user_id for a in await store.run_attempts(GUILD, run.id)] == [3, 5, 3, 7]


async def test_a_second_answer_to_the_same_question_returns_the_first(store):
    run = await _run(store)
    first, new = await _answer(store, run.id, 3, 0, True, chosen=1)
    assert new and first.run_id == run.id
    again, new = await _answer(store, run.id, 3, 0, False, at=NOW + HOUR, chosen=2)
    assert not new and (again.correct, again.chosen, again.at, again.run_id) == (True, 1, NOW, run.id)


async def test_a_run_keeps_its_settings_questions_and_finish_time(store):
    run = await _run(store)
    loaded = await store.run(GUILD, run.id)
    assert (loaded.kind, loaded.started_by, loaded.scope, loaded.channel_id, loaded.seed, loaded.status) == (
        "group", OWNER, "scope-x", 55, 1234, "open")
    assert loaded.created_at == NOW and loaded.finished_at is None
    assert [(q.position, q.note_id, q.item_index, q.question) for q in loaded.questions] == [
        (i, n, k, t) for i, (n, k, t) in enumerate(QUESTIONS)]
    assert await store.run(OTHER_GUILD, run.id) is None
    assert not await store.finish_run(OTHER_GUILD, run.id, NOW + HOUR)
    assert await store.finish_run(GUILD, run.id, NOW + HOUR)
    assert not await store.finish_run(GUILD, run.id, NOW + 2 * HOUR)  # already finished
    finished = await store.run(GUILD, run.id)
    assert (finished.status, finished.finished_at) == ("finished", NOW + HOUR)


# --- sessions and their reminder claims ---------------------------------------------------------------------

async def _session(store, guild=GUILD, starts=NOW + HOUR, remind=NOW, group=None, created_by=OWNER):
    if group is None:
        group = await store.create_group(guild, f"G{guild}-{starts.isoformat()}", None, 77, OWNER, NOW)
    return group, await store.add_session(guild, group.id, starts, remind, "topic", created_by, NOW)


async def test_a_session_keeps_what_was_scheduled(store):
    group, s = await _session(store, created_by=5)
    loaded = await store.session(GUILD, s.id)
    assert (loaded.id, loaded.guild_id, loaded.group_id, loaded.group_name, loaded.topic, loaded.created_by,
            loaded.status, loaded.reminder_sent_at) == (s.id, GUILD, group.id, group.name, "topic", 5, "scheduled", None)
    assert (loaded.starts_at, loaded.remind_at) == (NOW + HOUR, NOW)


async def test_cancelling_a_session_once_and_auditing_a_moderator(store):
    _, s = await _session(store)
    audit = Audit(4, "session.cancel", "by a moderator")
    assert not await store.cancel_session(OTHER_GUILD, s.id, NOW, audit)
    assert await store.cancel_session(GUILD, s.id, NOW + HOUR, audit)
    assert not await store.cancel_session(GUILD, s.id, NOW + 2 * HOUR, audit)  # not scheduled any more
    [entry] = await store.audit_log(GUILD)
    assert (entry.actor_id, entry.action, entry.detail, entry.at) == (4, "session.cancel", "by a moderator", NOW + HOUR)
    assert await store.audit_log(OTHER_GUILD) == []
    assert (await store.session(GUILD, s.id)).status == "cancelled"
    assert await store.sessions(GUILD, NOW) == []


async def test_sessions_of_one_group_soonest_first(store):
    a, s1 = await _session(store, starts=NOW + 2 * HOUR)
    b, s2 = await _session(store, starts=NOW + HOUR)
    _, s3 = await _session(store, starts=NOW + 3 * HOUR, group=a)
    assert [s.id for s in await store.sessions(GUILD, NOW)] == [s2.id, s1.id, s3.id]
    assert [s.id for s in await store.sessions(GUILD, NOW, a.id)] == [s1.id, s3.id]
    assert [s.id for s in await store.sessions(GUILD, NOW, b.id)] == [s2.id]


async def test_sessions_list_twenty_five_by_default(store):
    group, _ = await _session(store, starts=NOW + timedelta(minutes=1))
    for i in range(2, 28):
        await store.add_session(GUILD, group.id, NOW + timedelta(minutes=i), NOW, None, OWNER, NOW)
    assert len(await store.sessions(GUILD, NOW)) == 25


async def test_a_claim_is_a_lease_that_expires(store):
    _, s = await _session(store)
    [(claimed, channel, members)] = await store.claim_due_reminders(NOW, NOW - 3 * HOUR, "a", timedelta(minutes=2))
    assert (claimed.id, channel, members) == (s.id, 77, (OWNER,))
    assert await store.claim_due_reminders(NOW + timedelta(minutes=1), NOW - 3 * HOUR, "b") == []
    [(again, _, _)] = await store.claim_due_reminders(NOW + timedelta(minutes=2), NOW - 3 * HOUR, "b")
    assert again.id == s.id  # the first process died holding it: taken over when the lease ran out
    assert await store.mark_reminder_sent(GUILD, s.id, NOW + timedelta(minutes=3))
    assert not await store.mark_reminder_sent(GUILD, s.id, NOW + timedelta(minutes=4))
    assert (await store.session(GUILD, s.id)).reminder_sent_at == NOW + timedelta(minutes=3)
    assert await store.claim_due_reminders(NOW + HOUR, NOW - 3 * HOUR, "c") == []


async def test_a_released_reminder_is_claimed_again_but_not_once_cancelled(store):
    _, s = await _session(store)
    await store.claim_due_reminders(NOW, NOW - 3 * HOUR, "a")
    assert await store.release_reminder(GUILD, s.id)
    assert [c[0].id for c in await store.claim_due_reminders(NOW, NOW - 3 * HOUR, "a")] == [s.id]
    await store.cancel_session(GUILD, s.id, NOW)
    assert not await store.release_reminder(GUILD, s.id)
    assert not await store.release_reminder(OTHER_GUILD, s.id)


async def test_claims_and_closing_keep_to_their_shards(store):
    shard = {g: g << 22 for g in range(3)}  # a guild on each of shards 0, 1 and 2 of 3
    ids = {}
    for n, guild in shard.items():
        _, ids[n] = await _session(store, guild=guild, remind=NOW - timedelta(minutes=n))
    _, old = await _session(store, guild=shard[1], starts=NOW - 5 * HOUR, remind=NOW - 6 * HOUR)
    claims = await store.claim_due_reminders(NOW, NOW - 3 * HOUR, "p", shards=ShardScope(3, frozenset({0, 2})))
    assert [c[0].id for c in claims] == [ids[2].id, ids[0].id]  # by due time
    assert (await store.session(shard[1], old.id)).status == "scheduled"  # another shard's: left alone
    claims = await store.claim_due_reminders(NOW, NOW - 3 * HOUR, "q", shards=ShardScope(3, frozenset({1})))
    assert [c[0].id for c in claims] == [ids[1].id]
    assert (await store.session(shard[1], old.id)).status == "done"


async def test_a_claim_takes_at_most_a_hundred_by_default(store):
    group, _ = await _session(store, remind=NOW - timedelta(minutes=200))
    for i in range(101):
        await store.add_session(GUILD, group.id, NOW + HOUR, NOW - timedelta(minutes=i), None, OWNER, NOW)
    assert len(await store.claim_due_reminders(NOW, NOW - 3 * HOUR, "p")) == 100
