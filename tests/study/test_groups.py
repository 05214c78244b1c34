"""Study groups, sessions and their reminders (exactly once, late after downtime)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.study import Store, StudyService
from bot.study.groups import clean_group_name, clean_text
from tests.study.conftest import GUILD, NOW, OTHER_GUILD

OWNER, ALICE, BOB, MOD = 1, 2, 3, 4


@pytest.mark.parametrize("raw, clean", [
    ("Backprop beginners", "Backprop beginners"),
    ("   ML    study\tgroup  ", "ML study group"),
    ("Café 2026", "Café 2026"),
    ("C++ & friends (evenings)", "C++ & friends (evenings)"),
    ("深層学習", "深層学習"),
    ("x" * 50, "x" * 50),
    ("two\nlines", "two lines"),  # any whitespace collapses to one space
])
def test_valid_names_are_trimmed(raw, clean):
    assert clean_group_name(raw) == clean


@pytest.mark.parametrize("raw, message", [
    ("", "1 to 50"),
    ("     ", "1 to 50"),
    ("x" * 51, "at most 50"),
    ("@everyone party", "mentions"),
    ("@here", "mentions"),
    ("hi <@123>", "mentions"),
    ("<@!123>", "mentions"),
    ("<#1> fans", "mentions"),
    ("<@&1> role", "mentions"),
    ("＠everyone", "mentions"),          # full-width @, normalised first
    ("**bold**", "Markdown"),
    ("`code`", "Markdown"),
    ("__under__", "Markdown"),
    ("a ~~b~~", "Markdown"),
    ("||spoiler||", "Markdown"),
    ("[link](http://x)", "Markdown"),
    ("# heading", "Markdown"),
    ("> quote", "Markdown"),
    ("- list", "Start the group name"),
    ("study 🎉", "emoji"),
])
def test_bad_names_are_refused_with_a_clear_message(raw, message):
    with pytest.raises(InvalidInput, match=message):
        clean_group_name(raw)


def test_free_text_refuses_mentions_and_line_breaks():
    assert clean_text("  chain   rule ") == "chain rule"
    assert clean_text("   ") is None and clean_text(None) is None
    for bad in ("ping @everyone", "<@1>", "two\nlines", "x" * 101):
        with pytest.raises(InvalidInput):
            clean_text(bad)


async def test_create_join_leave_list_info(service):
    groups = service.groups
    group = await groups.create(GUILD, OWNER, "  Backprop   Beginners ", topic="backpropagation", channel_id=55, now=NOW)
    assert (group.name, group.topic, group.channel_id, group.owner_id, group.member_count) == (
        "Backprop Beginners", "backpropagation", 55, OWNER, 1)
    with pytest.raises(InvalidInput, match="already exists"):
        await groups.create(GUILD, ALICE, "backprop beginners", now=NOW)
    assert (await groups.join(GUILD, ALICE, "BACKPROP beginners", now=NOW)).member_count == 2
    with pytest.raises(InvalidInput, match="already in"):
        await groups.join(GUILD, ALICE, "Backprop Beginners", now=NOW)
    await groups.join(GUILD, BOB, "Backprop Beginners", now=NOW)
    await groups.create(GUILD, BOB, "Attention fans", now=NOW)
    assert [g.name for g in await groups.list_groups(GUILD)] == ["Attention fans", "Backprop Beginners"]
    assert [g.name for g in await groups.list_groups(GUILD, member_id=ALICE)] == ["Backprop Beginners"]
    info = await groups.info(GUILD, "backprop beginners", now=NOW)
    assert info.member_ids == (OWNER, ALICE, BOB) and info.sessions == ()
    assert (await groups.leave(GUILD, ALICE, "Backprop Beginners", now=NOW)).member_count == 2
    with pytest.raises(InvalidInput, match="not in"):
        await groups.leave(GUILD, ALICE, "Backprop Beginners", now=NOW)
    with pytest.raises(InvalidInput, match="archive"):
        await groups.leave(GUILD, OWNER, "Backprop Beginners", now=NOW)
    with pytest.raises(NotFound):
        await groups.join(GUILD, ALICE, "No such group", now=NOW)


async def test_owner_only_actions_and_audited_moderators(service):
    groups = service.groups
    await groups.create(GUILD, OWNER, "Linear algebra", now=NOW)
    await groups.join(GUILD, ALICE, "Linear algebra", now=NOW)
    await groups.join(GUILD, BOB, "Linear algebra", now=NOW)
    for action in (lambda: groups.rename(GUILD, ALICE, "Linear algebra", "Mine now", now=NOW),
                   lambda: groups.archive(GUILD, ALICE, "Linear algebra", now=NOW),
                   lambda: groups.remove_member(GUILD, ALICE, "Linear algebra", BOB, now=NOW)):
        with pytest.raises(PermissionDenied):
            await action()
    renamed = await groups.rename(GUILD, OWNER, "linear algebra", "Linear algebra 101", now=NOW)
    assert renamed.name == "Linear algebra 101"
    with pytest.raises(InvalidInput):
        await groups.rename(GUILD, OWNER, "Linear algebra 101", "<@1>", now=NOW)
    assert (await groups.remove_member(GUILD, OWNER, "Linear algebra 101", BOB, now=NOW)).member_count == 2
    with pytest.raises(InvalidInput, match="owner"):
        await groups.remove_member(GUILD, MOD, "Linear algebra 101", OWNER, moderator=True, now=NOW)
    await groups.remove_member(GUILD, MOD, "Linear algebra 101", ALICE, moderator=True, now=NOW)
    assert await service.admin.audit_log(GUILD) != []
    await groups.archive(GUILD, MOD, "Linear algebra 101", moderator=True, now=NOW)
    entries = await service.admin.audit_log(GUILD)
    assert [e.action for e in entries] == ["group.archive", "group.remove_member"]
    assert all(e.actor_id == MOD for e in entries)
    assert await groups.list_groups(GUILD) == []
    assert len(await groups.list_groups(GUILD, include_archived=True)) == 1
    # An archived group frees its name.
    assert (await groups.create(GUILD, ALICE, "Linear Algebra 101", now=NOW)).owner_id == ALICE


async def test_one_server_never_sees_another_servers_groups(service):
    await service.groups.create(GUILD, OWNER, "Shared name", now=NOW)
    other = await service.groups.create(OTHER_GUILD, ALICE, "Shared name", now=NOW)
    assert other.owner_id == ALICE
    assert [g.guild_id for g in await service.groups.list_groups(OTHER_GUILD)] == [OTHER_GUILD]
    session = await service.groups.schedule(GUILD, OWNER, "Shared name", "tomorrow 18:00", now=NOW)
    with pytest.raises(NotFound):
        await service.groups.cancel_session(OTHER_GUILD, ALICE, session.id, moderator=True, now=NOW)
    assert await service.groups.sessions(OTHER_GUILD, now=NOW) == []


async def test_schedule_list_and_cancel_sessions(service):
    groups = service.groups
    await service.admin.set_timezone(ALICE, "Europe/Paris", NOW)
    await groups.create(GUILD, OWNER, "Stats", now=NOW)
    await groups.join(GUILD, ALICE, "Stats", now=NOW)
    session = await groups.schedule(GUILD, ALICE, "stats", "tomorrow 18:00", topic="bayes", now=NOW)
    assert session.starts_at == NOW.replace(day=3, hour=17)  # 18:00 in Paris
    assert session.remind_at == session.starts_at - groups.reminder_lead
    assert (session.group_name, session.topic, session.status) == ("Stats", "bayes", "scheduled")
    with pytest.raises(InvalidInput, match="past"):
        await groups.schedule(GUILD, ALICE, "Stats", "2020-01-01 10:00", now=NOW)
    with pytest.raises(PermissionDenied, match="Join"):
        await groups.schedule(GUILD, BOB, "Stats", "in 2h", now=NOW)
    soon = await groups.schedule(GUILD, OWNER, "Stats", "in 5 minutes", now=NOW)
    assert soon.remind_at == NOW  # less than the lead away: remind at once
    assert [s.id for s in await groups.sessions(GUILD, "Stats", now=NOW)] == [soon.id, session.id]
    assert [s.id for s in (await groups.info(GUILD, "Stats", now=NOW)).sessions] == [soon.id, session.id]
    await groups.join(GUILD, BOB, "Stats", now=NOW)
    with pytest.raises(PermissionDenied):
        await groups.cancel_session(GUILD, BOB, session.id, now=NOW)
    cancelled = await groups.cancel_session(GUILD, OWNER, session.id, now=NOW)  # the owner may
    assert cancelled.status == "cancelled"
    with pytest.raises(InvalidInput, match="already cancelled"):
        await groups.cancel_session(GUILD, ALICE, session.id, now=NOW)
    assert [s.id for s in await groups.sessions(GUILD, now=NOW)] == [soon.id]


async def test_an_on_time_reminder_fires_once(service):
    await service.groups.create(GUILD, OWNER, "Calc", channel_id=77, now=NOW)
    await service.groups.join(GUILD, ALICE, "Calc", now=NOW)
    session = await service.groups.schedule(GUILD, OWNER, "Calc", "in 1 hour", topic="limits", now=NOW)
    assert await service.groups.due_reminders(NOW + timedelta(minutes=44)) == []
    due = await service.groups.due_reminders(session.remind_at + timedelta(seconds=30))
    assert len(due) == 1
    reminder = due[0]
    assert (reminder.session.id, reminder.channel_id, reminder.member_ids) == (session.id, 77, (OWNER, ALICE))
    assert reminder.late_by is None and not reminder.is_late and not reminder.started
    assert await service.groups.due_reminders(session.remind_at + timedelta(minutes=1)) == []


async def test_a_reminder_due_during_downtime_fires_once_after_restart_and_says_it_is_late(db_url, study_corpus):
    service = StudyService(await Store.open(db_url), lambda guild_id: study_corpus)
    await service.groups.create(GUILD, OWNER, "Calc", channel_id=77, now=NOW)
    session = await service.groups.schedule(GUILD, OWNER, "Calc", "in 1 hour", now=NOW)
    await service.close()  # the bot goes down before the reminder is due (NOW + 45 min)

    restart = NOW + timedelta(hours=1, minutes=10)  # back up after the session started
    service = StudyService(await Store.open(db_url), lambda guild_id: study_corpus)
    try:
        due = await service.groups.due_reminders(restart)
        assert [r.session.id for r in due] == [session.id]
        assert due[0].is_late and due[0].late_by == timedelta(minutes=25) and due[0].started
        assert await service.groups.due_reminders(restart + timedelta(minutes=1)) == []
    finally:
        await service.close()
    async with await Store.open(db_url) as store:  # and after yet another restart, still nothing
        assert await StudyService(store, lambda guild_id: study_corpus).groups.due_reminders(restart) == []


async def test_two_schedulers_claim_a_reminder_only_once(db_url, study_corpus):
    a, b = await Store.open(db_url), await Store.open(db_url)
    try:
        first, second = StudyService(a, lambda guild_id: study_corpus), StudyService(b, lambda guild_id: study_corpus)
        await first.groups.create(GUILD, OWNER, "Calc", now=NOW)
        for hours in range(1, 6):
            await first.groups.schedule(GUILD, OWNER, "Calc", f"in {hours}h", now=NOW)
        later = NOW + timedelta(hours=2)
        claims = await asyncio.gather(*(svc.groups.due_reminders(later) for svc in (first, second, first, second)))
        assert sorted(r.session.id for claim in claims for r in claim) == [1, 2]
    finally:
        await a.close()
        await b.close()


async def test_old_sessions_are_closed_without_a_reminder(service):
    await service.groups.create(GUILD, OWNER, "Calc", now=NOW)
    session = await service.groups.schedule(GUILD, OWNER, "Calc", "in 1 hour", now=NOW)
    assert await service.groups.due_reminders(NOW + timedelta(days=2)) == []
    assert (await service.store.session(GUILD, session.id)).status == "done"


async def test_archiving_cancels_sessions_and_their_reminders(service):
    await service.groups.create(GUILD, OWNER, "Calc", now=NOW)
    await service.groups.schedule(GUILD, OWNER, "Calc", "in 1 hour", now=NOW)
    assert await service.groups.archive(GUILD, OWNER, "Calc", now=NOW) == 1
    assert await service.groups.due_reminders(NOW + timedelta(hours=1)) == []


async def test_a_reminder_that_could_not_be_posted_is_retried(service):
    await service.groups.create(GUILD, OWNER, "Calc", now=NOW)
    await service.groups.schedule(GUILD, OWNER, "Calc", "in 1 hour", now=NOW)
    [reminder] = await service.groups.due_reminders(NOW + timedelta(minutes=50))
    assert await service.groups.reminder_failed(reminder)
    [again] = await service.groups.due_reminders(NOW + timedelta(minutes=52))
    assert again.session.id == reminder.session.id and again.late_by == timedelta(minutes=7)


async def test_limits_on_groups_and_sessions(store, study_corpus):
    service = StudyService(store, lambda guild_id: study_corpus)
    service.groups.max_owned, service.groups.max_upcoming = 2, 2
    await service.groups.create(GUILD, OWNER, "One", now=NOW)
    await service.groups.create(GUILD, OWNER, "Two", now=NOW)
    with pytest.raises(InvalidInput, match="archive one"):
        await service.groups.create(GUILD, OWNER, "Three", now=NOW)
    await service.groups.schedule(GUILD, OWNER, "One", "in 1h", now=NOW)
    await service.groups.schedule(GUILD, OWNER, "One", "in 2h", now=NOW)
    with pytest.raises(InvalidInput, match="cancel one"):
        await service.groups.schedule(GUILD, OWNER, "One", "in 3h", now=NOW)


def test_name_and_topic_rules_in_detail():
    assert clean_group_name("Nax\u0301 club") == "Nax\u0301 club"  # a combining accent is part of a letter
    with pytest.raises(InvalidInput, match="mentions"):
        clean_group_name("a@b")
    with pytest.raises(InvalidInput, match=r"remove '\*' '_'"):
        clean_group_name("a*b_c")
    with pytest.raises(InvalidInput) as refused:  # at most eight of the refused characters are listed
        clean_group_name("a*_~|>[]`<")
    assert str(refused.value).endswith("remove '*' '<' '>' '[' ']' '_' '`' '|'.")
    assert clean_text("x" * 100) == "x" * 100
    for bad, message in (("carriage\rreturn", "one line"), ("bell\x07", "control")):
        with pytest.raises(InvalidInput, match=message):
            clean_text(bad)


async def test_rename_by_a_moderator_is_audited_and_names_stay_unique(service):
    groups = service.groups
    await groups.create(GUILD, OWNER, "Calc", now=NOW)
    await groups.create(GUILD, ALICE, "Stats", now=NOW)
    with pytest.raises(InvalidInput, match="already exists"):
        await groups.rename(GUILD, OWNER, "Calc", "stats", now=NOW)
    assert (await groups.rename(GUILD, OWNER, "Calc", "Calculus", now=NOW)).name == "Calculus"
    assert await service.admin.audit_log(GUILD) == []  # the owner's own change is not audited
    renamed = await groups.rename(GUILD, MOD, "calculus", "Calculus I", moderator=True, now=NOW + timedelta(hours=1))
    assert renamed.name == "Calculus I"
    [entry] = await service.admin.audit_log(GUILD)
    assert (entry.actor_id, entry.action, entry.detail, entry.at) == (
        MOD, "group.rename", "Calculus -> Calculus I", NOW + timedelta(hours=1))


async def test_moderator_actions_record_what_and_when(service):
    groups = service.groups
    later = NOW + timedelta(hours=1)
    await groups.create(GUILD, OWNER, "Calc", now=NOW)
    await groups.join(GUILD, ALICE, "Calc", now=NOW)
    await groups.join(GUILD, BOB, "Calc", now=NOW)
    session = await groups.schedule(GUILD, ALICE, "Calc", "in 2h", now=NOW)
    own = await groups.schedule(GUILD, ALICE, "Calc", "in 3h", now=NOW)
    assert (await groups.cancel_session(GUILD, ALICE, own.id, now=NOW)).status == "cancelled"  # their own
    with pytest.raises(PermissionDenied):
        await groups.cancel_session(GUILD, MOD, session.id, now=NOW)  # not flagged as a moderator
    assert await service.admin.audit_log(GUILD) == []
    await groups.cancel_session(GUILD, MOD, session.id, moderator=True, now=later)
    await groups.remove_member(GUILD, MOD, "Calc", BOB, moderator=True, now=later)
    await groups.archive(GUILD, MOD, "Calc", moderator=True, now=later)
    entries = await service.admin.audit_log(GUILD)
    assert [(e.action, e.detail) for e in entries] == [
        ("group.archive", "Calc (owner 1)"),
        ("group.remove_member", "Calc (owner 1): user 3"),
        ("session.cancel", f"Calc (owner 1): session #{session.id}"),
    ]
    assert all(e.actor_id == MOD and e.at == later for e in entries)


async def test_members_are_listed_in_joining_order(service):
    groups = service.groups
    await groups.create(GUILD, OWNER, "Calc", now=NOW)
    await groups.join(GUILD, ALICE, "Calc", now=NOW + timedelta(hours=2))
    await groups.join(GUILD, BOB, "Calc", now=NOW + timedelta(hours=1))
    assert (await groups.info(GUILD, "Calc", now=NOW)).member_ids == (OWNER, BOB, ALICE)


async def test_schedule_at_an_exact_moment(service):
    from datetime import datetime, timezone
    groups = service.groups
    await groups.create(GUILD, OWNER, "Calc", now=NOW)
    paris = timezone(timedelta(hours=1))
    session = await groups.schedule(GUILD, OWNER, "Calc", datetime(2026, 3, 2, 15, 0, tzinfo=paris), now=NOW)
    assert session.starts_at == NOW + timedelta(hours=2) and session.starts_at.utcoffset() == timedelta(0)
    with pytest.raises(ValueError):
        await groups.schedule(GUILD, OWNER, "Calc", datetime(2026, 3, 3, 15, 0), now=NOW)
    with pytest.raises(InvalidInput, match="future"):
        await groups.schedule(GUILD, OWNER, "Calc", NOW, now=NOW)


async def test_upcoming_sessions_of_the_server_or_one_group_and_group_info(service):
    groups = service.groups
    await groups.create(GUILD, OWNER, "Calc", channel_id=55, now=NOW)
    await groups.create(GUILD, OWNER, "Stats", now=NOW)
    other = await groups.schedule(GUILD, OWNER, "Stats", "in 30 minutes", now=NOW)
    calc = [await groups.schedule(GUILD, OWNER, "Calc", f"in {h}h", now=NOW) for h in range(1, 13)]
    assert [s.id for s in await groups.sessions(GUILD, now=NOW)][:3] == [other.id, calc[0].id, calc[1].id]
    assert [s.id for s in await groups.sessions(GUILD, "Calc", now=NOW)] == [s.id for s in calc]
    assert len(await groups.sessions(GUILD, now=NOW, limit=5)) == 5
    info = await groups.info(GUILD, "calc", now=NOW)
    assert info.group.name == "Calc" and [s.id for s in info.sessions] == [s.id for s in calc[:10]]
    assert (await groups.by_channel(GUILD, 55)).name == "Calc"
    assert await groups.by_channel(GUILD, 56) is None


async def test_default_limits_on_groups_and_sessions(service):
    groups = service.groups
    for n in range(10):
        await groups.create(GUILD, OWNER, f"Group {n}", now=NOW)
    with pytest.raises(InvalidInput, match="archive one"):
        await groups.create(GUILD, OWNER, "Group 10", now=NOW)
    for h in range(1, 21):
        await groups.schedule(GUILD, OWNER, "Group 0", f"in {h}h", now=NOW)
    with pytest.raises(InvalidInput, match="cancel one"):
        await groups.schedule(GUILD, OWNER, "Group 0", "in 22h", now=NOW)


async def test_a_reminder_late_by_just_the_grace_is_on_time(service):
    await service.groups.create(GUILD, OWNER, "Calc", now=NOW)
    session = await service.groups.schedule(GUILD, OWNER, "Calc", "in 1 hour", now=NOW)
    [reminder] = await service.groups.due_reminders(session.remind_at + service.groups.late_grace)
    assert reminder.late_by is None
    assert await service.groups.reminder_sent(reminder, now=NOW + timedelta(minutes=47))
    assert (await service.store.session(GUILD, session.id)).reminder_sent_at == NOW + timedelta(minutes=47)
