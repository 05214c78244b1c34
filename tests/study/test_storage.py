"""The Store on both backends: migrations, concurrent starts, scoping, transactions and concurrent writers.

Every test that takes `db_url` (or `store`) runs on SQLite and on PostgreSQL (tests/databases.py).
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta

import pytest
import pytest_asyncio

from bot.errors import StudybotError
from bot.study.models import Audit, CardState
from bot.study.review import scheduler
from bot.study.storage import MIGRATIONS, SCHEMA_VERSION, DatabaseUrl, IntegrityError, Migration, Store
from bot.study.storage import split_statements
from tests.study.conftest import GUILD, NOW, OTHER_GUILD

DAY = "2026-03-02"


async def schema(store: Store) -> list[tuple]:
    """Every table's columns and every index, for comparing two databases of one backend."""
    async with store.read() as tx:
        if store.dialect == "sqlite":
            rows = await tx.fetch("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
                                  "ORDER BY type, name")
            return [(r[0], r[1], " ".join((r[2] or "").split())) for r in rows]
        columns = await tx.fetch("SELECT table_name, column_name, data_type, is_nullable, column_default "
                                 "FROM information_schema.columns WHERE table_schema = current_schema() "
                                 "ORDER BY table_name, column_name")
        indexes = await tx.fetch("SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                                 "ORDER BY tablename, indexname")
        checks = await tx.fetch("SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
                                "WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2")
        schema_name = await tx.fetchval("SELECT current_schema()")
        return [tuple(str(v).replace(f"{schema_name}.", "") for v in r) for r in (*columns, *indexes, *checks)]


async def fill(store: Store, version: int) -> None:
    """Write the rows an app at `version` would have written, with plain SQL of that version's schema."""
    t = "2026-03-02T12:00:00.000000Z"
    async with store.transaction() as tx:
        if version >= 1:
            await tx.execute("INSERT INTO user_settings (user_id, timezone, updated_at) VALUES (7, 'Europe/Paris', ?)",
                             t)
            await tx.execute("INSERT INTO question_log (guild_id, user_id, question, answered, best_note_id, at) "
                             f"VALUES ({GUILD}, 7, 'what is a derivative?', 1, 'derivatives', ?)", t)
            await tx.execute("INSERT INTO answer_feedback (guild_id, question_id, user_id, question, note_id, helpful, "
                             f"at) VALUES ({GUILD}, 1, 7, 'what is a derivative?', 'derivatives', 1, ?)", t)
            await tx.execute(f"INSERT INTO audit_log (guild_id, actor_id, action, detail, at) VALUES ({GUILD}, 1, "
                             "'test.action', 'kept', ?)", t)
        if version >= 2:
            await tx.execute("INSERT INTO study_groups (guild_id, name, name_key, channel_id, owner_id, created_at) "
                             f"VALUES ({GUILD}, 'Old group', 'old group', 55, 7, ?)", t)
            await tx.executemany(f"INSERT INTO group_members (guild_id, group_id, user_id, joined_at) VALUES "
                                 f"({GUILD}, 1, ?, ?)", [(7, t), (8, t)])
            await tx.execute("INSERT INTO study_sessions (guild_id, group_id, starts_at, remind_at, created_by, "
                             f"created_at) VALUES ({GUILD}, 1, '2026-03-03T12:00:00.000000Z', "
                             "'2026-03-03T11:45:00.000000Z', 7, ?)", t)


def test_both_backends_have_every_migration():
    assert [m.number for m in MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1))
    assert all(m.sqlite.strip() and m.postgres.strip() for m in MIGRATIONS)


def test_database_urls():
    assert DatabaseUrl.parse("sqlite:///data/x.sqlite3").path.as_posix() == "data/x.sqlite3"
    assert DatabaseUrl.parse("sqlite:////abs/x.sqlite3").path.as_posix() == "/abs/x.sqlite3"
    assert DatabaseUrl.parse("data/x.sqlite3").url == "sqlite:///data/x.sqlite3"
    assert DatabaseUrl.parse("postgresql://bot@db:5432/studybot").dialect == "postgresql"
    with pytest.raises(ValueError, match="unsupported"):
        DatabaseUrl.parse("mysql://x")


async def test_sqlite_is_opened_with_wal_and_foreign_keys(tmp_path):
    path = tmp_path / "data" / "studybot.sqlite3"
    async with await Store.open(path) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        assert await store.pragma("journal_mode") == "wal"
        assert await store.pragma("foreign_keys") == 1
        assert await store.pragma("busy_timeout") == 5000
    assert path.parent.is_dir()


async def test_reopening_is_a_no_op(db_url):
    async with await Store.open(db_url) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        await fill(store, SCHEMA_VERSION)
        before = await schema(store)
    async with await Store.open(db_url) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        assert (await store.question_stats(GUILD, None)).total == 1
        assert await schema(store) == before


@pytest.mark.parametrize("version", range(SCHEMA_VERSION))
async def test_upgrade_from_each_earlier_version(db_url, tmp_path, version):
    async with await Store.open(db_url, migrations=MIGRATIONS[:version]) as store:
        assert await store.schema_version() == version
        await fill(store, version)
    async with await Store.open(db_url) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        stats = await store.question_stats(GUILD, None)
        assert (stats.total, stats.helpful) == ((1, 1) if version >= 1 else (0, 0))
        groups = await store.groups(GUILD)
        assert [g.name for g in groups] == (["Old group"] if version >= 2 else [])
        if version >= 2:
            assert groups[0].member_count == 2
            assert len(await store.sessions(GUILD, NOW)) == 1
            assert await store.create_group(GUILD, "New group", None, None, 7, NOW) is not None  # ids go on
        upgraded = await schema(store)
    if store.dialect == "sqlite":
        async with await Store.open(tmp_path / "fresh.sqlite3") as fresh:
            assert upgraded == await schema(fresh)
    else:
        from tests.databases import pg_schema

        async with pg_schema() as url, await Store.open(url) as fresh:
            assert upgraded == await schema(fresh)


async def test_concurrent_starts_migrate_exactly_once(db_url):
    """Eight processes starting at once on an empty database: every one starts, each migration runs once."""
    stores = await asyncio.gather(*(Store.open(db_url) for _ in range(8)))
    try:
        assert [await s.schema_version() for s in stores] == [SCHEMA_VERSION] * 8
        await stores[0].log_question(GUILD, 1, "q", True, "derivatives", NOW, DAY)
        assert (await stores[-1].question_stats(GUILD, None)).total == 1
        if stores[0].dialect == "postgresql":
            async with stores[0].read() as tx:
                versions = [r[0] for r in await tx.fetch("SELECT version FROM studybot_schema ORDER BY version")]
            assert versions == list(range(1, SCHEMA_VERSION + 1))
    finally:
        for s in stores:
            await s.close()


async def test_refuses_a_database_from_a_newer_studybot(db_url):
    async with await Store.open(db_url) as store:
        async with store.transaction() as tx:
            if store.dialect == "sqlite":
                await tx.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
            else:
                await tx.execute("INSERT INTO studybot_schema (version, applied_at) VALUES (?, 'x')",
                                 SCHEMA_VERSION + 1)
    with pytest.raises(StudybotError, match="newer"):
        await Store.open(db_url)


async def test_a_failing_migration_changes_nothing(db_url):
    broken = (MIGRATIONS[0], Migration(2, "broken", sqlite="CREATE TABLE half_done (a INTEGER);\nCREATE TABLE oops (;",
                                       postgres="CREATE TABLE half_done (a INTEGER); CREATE TABLE oops (;"))
    with pytest.raises(Exception, match="syntax"):
        await Store.open(db_url, migrations=broken)
    async with await Store.open(db_url, migrations=MIGRATIONS[:1]) as store:
        assert await store.schema_version() == 1
        assert "half_done" not in str(await schema(store))


def test_split_statements_keeps_triggers_whole():
    script = """
    CREATE TABLE a (x INTEGER);
    -- a comment
    CREATE TRIGGER t AFTER INSERT ON a BEGIN
        UPDATE a SET x = x + 1;
    END;
    """
    statements = split_statements(script)
    assert len(statements) == 2
    assert statements[1].startswith("-- a comment") and statements[1].endswith("END;")


async def test_guild_scoped_tables_hold_nothing_of_another_guild(store):
    await fill(store, SCHEMA_VERSION)
    run = await store.create_run(GUILD, "solo", 7, None, None, 1, [("derivatives", 0, "q")], NOW)
    await store.record_answer(GUILD, run.id, 7, "derivatives", 0, 1, True, NOW, DAY, scheduler(True, NOW))
    assert all(count == 0 for count in (await store.table_counts(OTHER_GUILD)).values())
    assert sum((await store.table_counts(GUILD)).values()) > 0
    assert await store.run(OTHER_GUILD, run.id) is None
    with pytest.raises(IntegrityError):  # the foreign key refuses an answer filed under another server
        await store.record_answer(OTHER_GUILD, run.id, 7, "derivatives", 1, 1, True, NOW, DAY, scheduler(True, NOW))
    group = (await store.groups(GUILD))[0]
    with pytest.raises(IntegrityError):
        await store.add_member(OTHER_GUILD, group.id, 9, NOW)
    assert await store.group_by_name(OTHER_GUILD, "old group") is None


async def test_a_crash_between_two_writes_leaves_nothing_half_written(store):
    run = await store.create_run(GUILD, "solo", 7, None, None, 1, [("derivatives", 0, "q")], NOW)

    def explode(state: CardState | None) -> CardState:
        raise RuntimeError("crash after the attempt was inserted, before the card")

    with pytest.raises(RuntimeError):
        await store.record_answer(GUILD, run.id, 7, "derivatives", 0, 1, True, NOW, DAY, explode)
    assert await store.run_attempts(GUILD, run.id) == []
    assert await store.card(GUILD, 7, "derivatives", 0) is None
    assert await store.activity_days(GUILD, 7) == []

    with pytest.raises(ZeroDivisionError):
        async with store.transaction() as tx:
            await tx.execute("INSERT INTO audit_log (guild_id, actor_id, action, at) VALUES (1, 1, 'x', 'now')")
            1 / 0
    assert await store.audit_log(1) == []

    # The connection is usable afterwards and the answer can still be recorded, once.
    _, created = await store.record_answer(GUILD, run.id, 7, "derivatives", 0, 1, True, NOW, DAY, scheduler(True, NOW))
    assert created
    assert len(await store.run_attempts(GUILD, run.id)) == 1
    assert (await store.card(GUILD, 7, "derivatives", 0)).repetitions == 1


async def test_a_cancelled_writer_rolls_back(store):
    started = asyncio.Event()

    async def slow_writer():
        async with store.transaction() as tx:
            await tx.execute("INSERT INTO audit_log (guild_id, actor_id, action, at) VALUES (5, 1, 'x', 'now')")
            started.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(slow_writer())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await store.audit_log(5) == []
    await store.add_audit(5, Audit(1, "after", ""), NOW)
    assert len(await store.audit_log(5)) == 1


async def test_a_failed_rename_keeps_the_transaction_usable(store):
    one = await store.create_group(GUILD, "One", None, None, 7, NOW)
    await store.create_group(GUILD, "Two", None, None, 7, NOW)
    assert not await store.rename_group(GUILD, one.id, "two", NOW, Audit(1, "group.rename", "x"))
    assert await store.rename_group(GUILD, one.id, "Three", NOW, Audit(1, "group.rename", "y"))
    assert [e.detail for e in await store.audit_log(GUILD)] == ["y"]


async def test_many_concurrent_answers_are_counted_exactly(store):
    items = [(n, i, f"{n} {i}") for n in ("derivatives", "chain-rule", "gradient-descent", "bayes-theorem")
             for i in (0, 1)]
    run = await store.create_run(GUILD, "group", 1, None, None, 1, items, NOW)
    users = range(100, 125)

    async def answer(user: int, note: str, index: int) -> bool:
        correct = (user + index) % 2 == 0
        _, created = await store.record_answer(GUILD, run.id, user, note, index, 0, correct, NOW, DAY,
                                               scheduler(correct, NOW))
        return created

    # Every answer is sent twice at once (a double click): each must count once.
    jobs = [answer(u, n, i) for u in users for n, i, _ in items for _ in range(2)]
    created = await asyncio.gather(*jobs)
    assert sum(created) == len(users) * len(items)
    attempts = await store.run_attempts(GUILD, run.id)
    assert len(attempts) == len(users) * len(items)
    assert sum(a.correct for a in attempts) == sum((u + i) % 2 == 0 for u in users for _, i, _ in items)
    for u in users:
        assert (await store.card_counts(GUILD, u, NOW + timedelta(days=30)))[1] == len(items)
    counts = {(c.note_id, c.kind): c.count for c in await store.event_counts(GUILD, 100)}
    assert counts == {(n, "quizzed"): 2 for n in ("derivatives", "chain-rule", "gradient-descent", "bayes-theorem")}


async def test_two_processes_writing_the_same_database(db_url):
    a, b = await Store.open(db_url), await Store.open(db_url)
    try:
        async def log(store: Store, i: int) -> None:
            await store.log_question(GUILD, i, f"question {i}", i % 2 == 0, "derivatives", NOW, DAY)

        await asyncio.gather(*(log(a if i % 2 else b, i) for i in range(60)))
        stats = await a.question_stats(GUILD, None)
        assert (stats.total, stats.answered) == (60, 30)
        assert len(await b.activity_days(GUILD, 0)) == 1  # streak days counted by both, once each
    finally:
        await a.close()
        await b.close()


async def test_timestamps_round_trip_as_aware_utc():
    from bot.study.storage import from_db_time, to_db_time

    assert from_db_time(to_db_time(NOW)) == NOW
    with pytest.raises(ValueError):
        to_db_time(NOW.replace(tzinfo=None))
    assert to_db_time(NOW) < to_db_time(NOW + timedelta(microseconds=1))
