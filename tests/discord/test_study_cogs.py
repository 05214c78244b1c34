"""Study cogs with strict fakes: groups, sessions, timezone, reminders, quizzes, reviews, progress and the map."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from unittest.mock import AsyncMock, MagicMock
from zoneinfo import ZoneInfo

import discord
import pytest
from discord import app_commands

from bot.discord.config._cog import ConfigCog
from bot.discord.errors import user_message
from bot.discord.study._groups_cog import GroupsCog
from bot.discord.study._progress_cog import ProgressCog
from bot.discord.study._quiz_cog import QuizCog
from bot.discord.study._reminders_cog import RemindersCog
from bot.discord.study._render import reminder_messages
from bot.discord.study._sessions_cog import SessionsCog
from bot.discord.study._shared import group_autocomplete, my_group_autocomplete, scope_autocomplete
from bot.discord.study._views import answer_clicked, finish_clicked
from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.study.models import Session, SessionReminder
from tests.fakes import fake_interaction, fake_member, sent

GUILD = 5000
OWNER, ALICE, BOB = 1001, 1002, 1003
GROUP_CHANNEL = 7000
PNG = b"\x89PNG\r\n\x1a\n"


def member(user_id: int, name: str = "someone", **kwargs) -> MagicMock:
    m = fake_member(user_id, name, **kwargs)
    m.display_name = name
    return m


def as_user(client, user_id: int = OWNER, channel_id: int = 6000, **kwargs) -> MagicMock:
    return fake_interaction(client, user=member(user_id, **kwargs), channel_id=channel_id)


def text_channel(channel_id: int = GROUP_CHANNEL) -> MagicMock:
    channel = MagicMock(spec_set=discord.TextChannel)
    channel.id = channel_id
    channel.mention = f"<#{channel_id}>"
    return channel


def pressed(client, user_id: int, ephemeral: bool, channel_id: int = 6000) -> MagicMock:
    """A button click on a message that is (or is not) ephemeral."""
    interaction = as_user(client, user_id, channel_id)
    message = MagicMock(spec_set=discord.Message)
    message.flags = discord.MessageFlags(ephemeral=ephemeral)
    interaction.message = message
    interaction.response.edit_message = AsyncMock()
    return interaction


def custom_ids(view: discord.ui.View) -> list[str]:
    return [item.custom_id for item in view.children]


def no_pings(kwargs: dict) -> bool:
    """No mention pings: the call either keeps the bot-wide default (none, see test_the_bot_pings_nobody_by_default)
    or passes an allowed_mentions that pings nobody."""
    am = kwargs.get("allowed_mentions", discord.AllowedMentions.none())
    return am.everyone is False and am.users is False and am.roles is False


@pytest.fixture
def groups(client, services):
    return GroupsCog(client)


@pytest.fixture
def config(client, services):
    return ConfigCog(client)


@pytest.fixture
def sessions(client, services):
    return SessionsCog(client)


@pytest.fixture
def quizzes(client, services):
    return QuizCog(client)


@pytest.fixture
def progress(client, services):
    return ProgressCog(client)


async def make_group(cog, client, name="Backprop club", channel_id: int | None = GROUP_CHANNEL, members=(ALICE,)):
    await cog.create.callback(cog, as_user(client, OWNER), name=name, topic="gradients",
                              channel=text_channel(channel_id) if channel_id else None)
    for user in members:
        await cog.join.callback(cog, as_user(client, user), name=name)


# -- groups ----------------------------------------------------------------------------------------------------


async def test_create_announces_the_group_without_pinging(groups, client, services):
    interaction = as_user(client)
    await groups.create.callback(groups, interaction, name="Backprop   club", topic="*gradients* & more",
                                 channel=text_channel())
    kwargs = sent(interaction.response.send_message)
    content = interaction.response.send_message.await_args.args[0]
    assert "**Backprop club**" in content and r"\*gradients\*" in content and f"<#{GROUP_CHANNEL}>" in content
    assert no_pings(kwargs) and not kwargs.get("ephemeral")
    [group] = await services.study.groups.list_groups(GUILD)
    assert (group.owner_id, group.channel_id, group.member_count) == (OWNER, GROUP_CHANNEL, 1)


async def test_create_refuses_a_500_character_name(groups, client):
    with pytest.raises(InvalidInput, match="at most 50 characters") as info:
        await groups.create.callback(groups, as_user(client), name="x" * 500)
    assert "500" in user_message(info.value)


async def test_create_refuses_a_name_with_everyone(groups, client, services):
    with pytest.raises(InvalidInput, match="mentions"):
        await groups.create.callback(groups, as_user(client), name="@everyone party")
    assert await services.study.groups.list_groups(GUILD) == []


async def test_create_refuses_a_channel_i_cannot_post_in(groups, client, services):
    channel = text_channel()
    channel.permissions_for = MagicMock(return_value=discord.Permissions(send_messages=False))
    with pytest.raises(InvalidInput, match="can't post in <#7000>"):
        await groups.create.callback(groups, as_user(client), name="Quiet club", channel=channel)
    assert await services.study.groups.list_groups(GUILD) == []


async def test_a_name_with_everyone_is_echoed_inert(groups, client):
    with pytest.raises(NotFound) as info:
        await groups.join.callback(groups, as_user(client, ALICE), name="@everyone **now**")
    text = user_message(info.value)
    assert "@\u200beveryone" in text and r"\*\*now\*\*" in text and "@everyone" not in text


async def test_join_leave_list_and_info(groups, client, services):
    await make_group(groups, client)
    join = as_user(client, BOB)
    await groups.join.callback(groups, join, name="backprop CLUB")
    assert "(3 members)" in join.response.send_message.await_args.args[0]
    leave = as_user(client, BOB)
    await groups.leave.callback(groups, leave, name="Backprop club")
    assert sent(leave.response.send_message)["ephemeral"] is True
    listing = as_user(client, ALICE)
    await groups.list_.callback(groups, listing, mine=False)
    embed = sent(listing.response.send_message)["embed"]
    assert "✅ **Backprop club**" in embed.description and sent(listing.response.send_message)["ephemeral"]
    info = as_user(client, BOB)
    await groups.info.callback(groups, info, name="Backprop club")
    fields = {f.name: f.value for f in sent(info.response.send_message)["embed"].fields}
    assert fields["Owner"] == f"<@{OWNER}>" and fields["Members (2)"] == f"<@{OWNER}>\n<@{ALICE}>"


async def test_unknown_group_is_not_found(groups, client):
    with pytest.raises(NotFound, match="no study group called 'Nope'"):
        await groups.info.callback(groups, as_user(client), name="Nope")


async def test_non_owner_rename_is_refused_with_a_clear_message(groups, client):
    await make_group(groups, client)
    with pytest.raises(PermissionDenied) as info:
        await groups.rename.callback(groups, as_user(client, ALICE), name="Backprop club", new_name="Mine")
    assert user_message(info.value) == "Only the owner of 'Backprop club' (or a moderator) can do that."


async def test_owner_renames_and_a_moderator_archives_with_an_audit(groups, client, services):
    await make_group(groups, client)
    rename = as_user(client, OWNER)
    await groups.rename.callback(groups, rename, name="Backprop club", new_name="Backprop 101")
    assert "**Backprop 101**" in rename.response.send_message.await_args.args[0]
    archive = as_user(client, 4242, manage_guild=True)
    await groups.archive.callback(groups, archive, name="backprop 101")
    assert "archived" in archive.response.send_message.await_args.args[0]
    assert [e.action for e in await services.study.admin.audit_log(GUILD)] == ["group.archive"]
    assert await services.study.groups.list_groups(GUILD) == []


async def test_owner_removes_a_member_privately(groups, client, services):
    await make_group(groups, client)
    interaction = as_user(client, OWNER)
    await groups.remove_member.callback(groups, interaction, name="Backprop club", member=member(ALICE))
    assert sent(interaction.response.send_message)["ephemeral"] is True
    with pytest.raises(PermissionDenied):
        await groups.remove_member.callback(groups, as_user(client, ALICE), name="Backprop club",
                                            member=member(OWNER))
    assert (await services.study.groups.get(GUILD, "Backprop club")).member_count == 1


# -- sessions and timezones -------------------------------------------------------------------------------------


async def test_schedule_replies_with_discord_timestamps(groups, sessions, client, services):
    await make_group(groups, client)
    interaction = as_user(client, ALICE)
    await sessions.schedule.callback(sessions, interaction, group="backprop club", when="in 1h", topic="chain rule")
    content = interaction.response.send_message.await_args.args[0]
    [session] = await services.study.groups.sessions(GUILD)
    unix = int(session.starts_at.timestamp())
    assert f"<t:{unix}:F>" in content and f"<t:{unix}:R>" in content and "*chain rule*" in content
    assert f"<#{GROUP_CHANNEL}>" in content and "(UTC)" in content
    assert no_pings(sent(interaction.response.send_message))


async def test_schedule_reads_the_time_in_the_users_timezone(groups, sessions, config, client, services):
    await make_group(groups, client)
    await config.timezone.callback(config, as_user(client, ALICE), name="europe/paris")
    await sessions.schedule.callback(sessions, as_user(client, ALICE), group="Backprop club", when="tomorrow 18:00")
    [session] = await services.study.groups.sessions(GUILD)
    local = session.starts_at.astimezone(ZoneInfo("Europe/Paris"))
    assert (local.hour, local.minute) == (18, 0)


async def test_schedule_refuses_a_past_time(groups, sessions, client):
    await make_group(groups, client)
    with pytest.raises(InvalidInput, match="in the past"):
        await sessions.schedule.callback(sessions, as_user(client, ALICE), group="Backprop club",
                                         when="2020-01-01 10:00")


async def test_schedule_refuses_non_members_and_echoes_odd_times_inert(groups, sessions, client):
    await make_group(groups, client)
    with pytest.raises(PermissionDenied, match="Join"):
        await sessions.schedule.callback(sessions, as_user(client, BOB), group="Backprop club", when="in 2h")
    with pytest.raises(InvalidInput) as info:
        await sessions.schedule.callback(sessions, as_user(client, ALICE), group="Backprop club",
                                         when="@everyone *soon*")
    assert "@\u200beveryone" in str(info.value) and r"\*soon\*" in str(info.value)


async def test_list_and_cancel_sessions(groups, sessions, client, services):
    await make_group(groups, client)
    await sessions.schedule.callback(sessions, as_user(client, ALICE), group="Backprop club", when="in 2h")
    listing = as_user(client, BOB)
    await sessions.list_.callback(sessions, listing, group=None)
    assert "**Backprop club**" in sent(listing.response.send_message)["embed"].description
    [session] = await services.study.groups.sessions(GUILD)
    with pytest.raises(PermissionDenied):
        await sessions.cancel.callback(sessions, as_user(client, BOB), id=session.id)
    cancel = as_user(client, OWNER)  # the group's owner may cancel a member's session
    await sessions.cancel.callback(sessions, cancel, id=session.id)
    assert f"`#{session.id}`" in cancel.response.send_message.await_args.args[0]
    assert await services.study.groups.sessions(GUILD) == []
    with pytest.raises(NotFound):
        await sessions.cancel.callback(sessions, as_user(client, OWNER), id=999)


async def test_config_timezone_set_show_and_autocomplete(config, client, services):
    interaction = as_user(client, ALICE)
    await config.timezone.callback(config, interaction, name="asia/kolkata")
    assert "**Asia/Kolkata**" in interaction.response.send_message.await_args.args[0]
    assert sent(interaction.response.send_message)["ephemeral"] is True
    show = as_user(client, ALICE)
    await config.timezone.callback(config, show, name=None)
    assert "**Asia/Kolkata**" in show.response.send_message.await_args.args[0]
    with pytest.raises(InvalidInput, match="Unknown timezone 'Mars/Olympus'"):
        await config.timezone.callback(config, as_user(client, ALICE), name="Mars/Olympus")
    choices = await config.zone_autocomplete(as_user(client), "")
    assert len(choices) == 25
    assert (await config.zone_autocomplete(as_user(client), "paris"))[0].value == "Europe/Paris"


async def test_group_autocomplete_lists_matching_groups(groups, client):
    await make_group(groups, client, members=())
    await groups.create.callback(groups, as_user(client, BOB), name="Bayes friends")
    assert [c.value for c in await group_autocomplete(as_user(client), "ba")] == ["Backprop club", "Bayes friends"]
    assert [c.value for c in await group_autocomplete(as_user(client), "prop")] == ["Backprop club"]
    assert [c.value for c in await my_group_autocomplete(as_user(client, BOB), "")] == ["Bayes friends"]


# -- reminders ------------------------------------------------------------------------------------------------


class ReminderBot:
    """Just what the reminder loop reads from the bot: channels, users and guild names."""

    def __init__(self, services, channels=(), users=()):
        self.services = services
        self.channels = {c.id: c for c in channels}
        self.users = {u.id: u for u in users}

    def get_channel(self, channel_id):
        return self.channels.get(channel_id)

    async def fetch_channel(self, channel_id):
        raise discord.NotFound(MagicMock(status=404, reason="Not Found"), "Unknown Channel")

    def get_user(self, user_id):
        return self.users.get(user_id)

    async def fetch_user(self, user_id):
        raise discord.NotFound(MagicMock(status=404, reason="Not Found"), "Unknown User")

    def get_guild(self, guild_id):
        guild = MagicMock(spec_set=discord.Guild)
        guild.name = "Study *Server*"
        return guild


def messageable_channel(channel_id: int = GROUP_CHANNEL) -> MagicMock:
    channel = text_channel(channel_id)
    channel.send = AsyncMock()
    return channel


def dm_user(user_id: int, closed: bool = False) -> MagicMock:
    user = MagicMock(spec_set=discord.User)
    user.id = user_id
    user.send = AsyncMock(side_effect=discord.Forbidden(MagicMock(status=403, reason="Forbidden"), "closed")
                          if closed else None)
    return user


async def test_a_due_reminder_mentions_exactly_the_members(groups, sessions, client, services):
    await make_group(groups, client, members=(ALICE, BOB))
    await sessions.schedule.callback(sessions, as_user(client, ALICE), group="Backprop club", when="in 1h",
                                     topic="chain rule")
    [session] = await services.study.groups.sessions(GUILD)
    channel = messageable_channel()
    cog = RemindersCog(ReminderBot(services, [channel]))
    assert await cog.send_due_reminders(now=session.remind_at - timedelta(minutes=1)) == (0, 0)
    assert await cog.send_due_reminders(now=session.remind_at + timedelta(seconds=30)) == (1, 0)
    content = channel.send.await_args.args[0]
    am = channel.send.await_args.kwargs["allowed_mentions"]
    assert sorted(u.id for u in am.users) == sorted([OWNER, ALICE, BOB])
    assert am.everyone is False and am.roles is False and am.replied_user is False
    assert "Reminder" in content and "late" not in content and f"<t:{int(session.starts_at.timestamp())}:R>" in content
    assert all(f"<@{u}>" in content for u in (OWNER, ALICE, BOB))
    assert await cog.send_due_reminders(now=session.remind_at + timedelta(minutes=2)) == (0, 0)  # once only


async def test_a_late_reminder_says_so(services):
    await services.study.groups.create(GUILD, OWNER, "Calc", channel_id=GROUP_CHANNEL)
    session = await services.study.groups.schedule(GUILD, OWNER, "Calc", "in 1h")
    channel = messageable_channel()
    cog = RemindersCog(ReminderBot(services, [channel]))
    assert await cog.send_due_reminders(now=session.starts_at + timedelta(minutes=10)) == (1, 0)
    content = channel.send.await_args.args[0]
    assert "Sorry, this reminder is 25 minutes late" in content and "started" in content


async def test_a_reminder_that_cannot_be_posted_is_retried(services):
    await services.study.groups.create(GUILD, OWNER, "Calc", channel_id=GROUP_CHANNEL)
    session = await services.study.groups.schedule(GUILD, OWNER, "Calc", "in 1h")
    gone = RemindersCog(ReminderBot(services, []))  # the channel can't be found
    assert await gone.send_due_reminders(now=session.remind_at) == (0, 0)
    channel = messageable_channel()
    back = RemindersCog(ReminderBot(services, [channel]))
    assert await back.send_due_reminders(now=session.remind_at + timedelta(minutes=1)) == (1, 0)
    channel.send.assert_awaited_once()


async def test_a_group_without_a_channel_is_reminded_by_dm_even_if_one_dm_fails(services):
    await services.study.groups.create(GUILD, OWNER, "Calc")
    await services.study.groups.join(GUILD, ALICE, "Calc")
    session = await services.study.groups.schedule(GUILD, OWNER, "Calc", "in 1h")
    owner, alice = dm_user(OWNER, closed=True), dm_user(ALICE)
    cog = RemindersCog(ReminderBot(services, users=[owner, alice]))
    assert await cog.send_due_reminders(now=session.remind_at) == (1, 0)
    text = alice.send.await_args.args[0]
    assert "**Calc**" in text and r"Study \*Server\*" in text and "Reminder" in text
    assert no_pings(alice.send.await_args.kwargs)


async def test_review_dms_are_sent_once_and_a_closed_dm_does_not_break_the_loop(services):
    past = datetime.now(UTC) - timedelta(days=3)
    for user in (ALICE, BOB):
        await services.study.reviews.study_note(GUILD, user, "chain-rule", now=past)
        await services.study.reviews.set_reminders(GUILD, user, 0)  # midnight: any time today is past it
    alice, bob = dm_user(ALICE, closed=True), dm_user(BOB)
    cog = RemindersCog(ReminderBot(services, users=[alice, bob]))
    assert await cog.send_due_reminders() == (0, 1)
    assert "2 review cards due" in bob.send.await_args.args[0]
    assert await cog.send_due_reminders() == (0, 0)  # once a day


def test_many_members_are_split_into_messages_within_discords_limits():
    now = datetime.now(UTC)
    session = Session(1, GUILD, 1, "Big", now + timedelta(minutes=15), now, None, OWNER, "scheduled")
    members = tuple(range(10**17, 10**17 + 250))
    messages = reminder_messages(SessionReminder(session, GROUP_CHANNEL, members))
    assert len(messages) > 2
    assert all(len(content) <= 2000 and len(users) <= 100 for content, users in messages)
    assert [u for _, users in messages for u in users] == list(members)
    assert all(set(map(int, re.findall(r"<@(\d+)>", content))) == set(users) for content, users in messages)


# -- quizzes and reviews ----------------------------------------------------------------------------------------


async def test_solo_quiz_is_private_and_answered_in_place(quizzes, client, services):
    start = as_user(client, ALICE)
    await quizzes.quiz.callback(quizzes, start, scope="chain-rule", count=2, solo=False)
    kwargs = sent(start.response.send_message)
    assert kwargs["ephemeral"] is True and kwargs["embed"].title == "Quiz · question 1 of 2"
    ids = custom_ids(kwargs["view"])
    run_id, position = map(int, re.fullmatch(r"sbq:(\d+):(\d+):0", ids[0]).groups())
    assert ids == [f"sbq:{run_id}:{position}:{c}" for c in range(4)]

    run = await services.study.quizzes.get(GUILD, run_id)
    corpus = services.answers.corpus
    for i, q in enumerate(run.questions):
        right = corpus.notes[q.note_id].quiz[q.item_index].answer
        click = pressed(client, ALICE, ephemeral=True)
        await answer_clicked(click, run_id, q.position, right if i == 0 else (right + 1) % 4)
        embeds = click.response.edit_message.await_args.kwargs["embeds"]
        assert embeds[0].title == ("✅ Right!" if i == 0 else "❌ Not quite") and "**Why:**" in embeds[0].description
    assert embeds[1].title.startswith("🏁 Finished: 1/2 right")
    assert click.response.edit_message.await_args.kwargs["view"] is None


async def test_someone_elses_solo_quiz_is_refused(quizzes, client, services):
    start = as_user(client, ALICE)
    await quizzes.quiz.callback(quizzes, start, scope="calculus", count=1)
    run_id = int(custom_ids(sent(start.response.send_message)["view"])[0].split(":")[1])
    with pytest.raises(PermissionDenied, match="someone else's quiz"):
        await answer_clicked(pressed(client, BOB, ephemeral=True), run_id, 0, 0)


async def test_quiz_refuses_an_unknown_scope_inert(quizzes, client):
    with pytest.raises(NotFound) as info:
        await quizzes.quiz.callback(quizzes, as_user(client), scope="<@123456789012345678> basket", count=3)
    assert "<@\u200b123456789012345678>" in str(info.value)


async def test_group_quiz_in_a_groups_channel_with_finish_and_leaderboard(groups, quizzes, client, services):
    await make_group(groups, client, members=(ALICE, BOB))
    start = as_user(client, ALICE, channel_id=GROUP_CHANNEL)
    await quizzes.quiz.callback(quizzes, start, scope="chain-rule", count=1)
    kwargs = sent(start.response.send_message)
    assert "ephemeral" not in kwargs and kwargs["embeds"][0].title == "Group quiz: The chain rule"
    ids = custom_ids(kwargs["view"])
    run_id = int(ids[0].split(":")[1])
    assert ids[-1] == f"sbq:{run_id}:finish"
    [q] = (await services.study.quizzes.get(GUILD, run_id)).questions
    right = services.answers.corpus.notes[q.note_id].quiz[q.item_index].answer

    bob = pressed(client, BOB, ephemeral=False, channel_id=GROUP_CHANNEL)  # on the public message
    await answer_clicked(bob, run_id, q.position, right)
    bob_kwargs = sent(bob.response.send_message)
    assert bob_kwargs["ephemeral"] is True and bob_kwargs["embeds"][0].title == "✅ Right!"
    assert "presses **Finish**" in bob_kwargs["embeds"][1].description
    await answer_clicked(pressed(client, ALICE, ephemeral=False, channel_id=GROUP_CHANNEL), run_id, q.position,
                         (right + 1) % 4)

    with pytest.raises(PermissionDenied, match="Only whoever started"):
        await finish_clicked(pressed(client, BOB, ephemeral=False, channel_id=GROUP_CHANNEL), run_id)
    finish = pressed(client, ALICE, ephemeral=False, channel_id=GROUP_CHANNEL)
    await finish_clicked(finish, run_id)
    results = finish.response.edit_message.await_args.kwargs
    board = results["embeds"][1].description
    assert results["view"] is None and board.index(f"<@{BOB}>") < board.index(f"<@{ALICE}>")
    assert board.startswith(f"🥇 <@{BOB}>: 1/1 right")
    with pytest.raises(InvalidInput, match="finished"):
        await answer_clicked(pressed(client, OWNER, ephemeral=False, channel_id=GROUP_CHANNEL), run_id,
                             q.position, right)


async def test_solo_option_overrides_the_group_channel(groups, quizzes, client):
    await make_group(groups, client)
    start = as_user(client, ALICE, channel_id=GROUP_CHANNEL)
    await quizzes.quiz.callback(quizzes, start, scope=None, count=1, solo=True)
    assert sent(start.response.send_message)["ephemeral"] is True


async def test_review_with_nothing_due_and_with_due_cards(quizzes, client, services):
    empty = as_user(client, ALICE)
    await quizzes.review_start.callback(quizzes, empty)
    assert "no review cards yet" in empty.response.send_message.await_args.args[0]
    await services.study.reviews.study_note(GUILD, ALICE, "chain-rule", now=datetime.now(UTC) - timedelta(days=2))
    due = as_user(client, ALICE)
    await quizzes.review_start.callback(quizzes, due)
    kwargs = sent(due.response.send_message)
    assert "**2** of your 2 review cards are due" in due.response.send_message.await_args.args[0]
    assert kwargs["ephemeral"] is True and kwargs["embed"].title == "Review · question 1 of 2"


async def test_review_reminders_on_and_off(quizzes, client, services):
    on = as_user(client, ALICE)
    await quizzes.review_reminders.callback(quizzes, on, hour=app_commands.Choice(name="18:00", value="18"))
    assert "**18:00** (UTC)" in on.response.send_message.await_args.args[0]
    assert (await services.study.reviews.summary(GUILD, ALICE)).reminder_hour == 18
    off = as_user(client, ALICE)
    await quizzes.review_reminders.callback(quizzes, off, hour=app_commands.Choice(name="off", value="off"))
    assert not (await services.study.reviews.summary(GUILD, ALICE)).reminders_enabled


async def test_scope_autocomplete_offers_disciplines_and_topics(client):
    choices = await scope_autocomplete(as_user(client), "calc")
    assert choices[0].value == "calculus" and len(choices) <= 25
    assert "chain-rule" in [c.value for c in await scope_autocomplete(as_user(client), "chain")]
    assert 0 < len(await scope_autocomplete(as_user(client), "")) <= 25


# -- progress, leaderboard, map ---------------------------------------------------------------------------------


async def answer_one(services, user_id: int, correct: bool = True) -> None:
    run = await services.study.quizzes.start(GUILD, user_id, "chain-rule", 1)
    q = run.questions[0]
    right = services.answers.corpus.notes[q.note_id].quiz[q.item_index].answer
    await services.study.quizzes.answer(GUILD, run.id, user_id, q.position, right if correct else (right + 1) % 4)


async def test_progress_is_private_and_detailed_for_yourself(progress, client, services):
    await answer_one(services, ALICE)
    interaction = as_user(client, ALICE)
    await progress.progress.callback(progress, interaction, member=None)
    kwargs = sent(interaction.response.send_message)
    fields = {f.name: f.value for f in kwargs["embed"].fields}
    assert kwargs["ephemeral"] is True and fields["Quiz answers"].startswith("1 correct of 1")
    assert "**The chain rule**" in fields["Topics studied (1)"]


async def test_progress_of_another_member_is_a_summary_only(progress, client, services):
    await answer_one(services, ALICE)
    interaction = as_user(client, BOB)
    await progress.progress.callback(progress, interaction, member=member(ALICE, "alice"))
    kwargs = sent(interaction.response.send_message)
    embed = kwargs["embed"]
    assert kwargs["ephemeral"] is True and embed.title == "Progress of alice"
    assert not any(f.name.startswith("Topics studied") for f in embed.fields)
    assert "chain rule" not in str(embed.to_dict()).lower()


async def test_leaderboard_ranks_and_refuses_unknown_groups(progress, client, services):
    await answer_one(services, ALICE)
    await answer_one(services, BOB, correct=False)
    interaction = as_user(client)
    await progress.leaderboard.callback(progress, interaction, group=None, metric="correct", period="this week")
    kwargs = sent(interaction.response.send_message)
    assert kwargs["embed"].description == f"🥇 <@{ALICE}>: 1 correct answer" and no_pings(kwargs)
    with pytest.raises(NotFound):
        await progress.leaderboard.callback(progress, as_user(client), group="No such group", metric="correct",
                                            period="all time")


async def test_map_defers_then_sends_a_png_attachment(progress, client):
    interaction = as_user(client, ALICE)
    discipline = app_commands.Choice(name="Calculus", value="calculus")
    await progress.map_.callback(progress, interaction, discipline=discipline)
    interaction.response.defer.assert_awaited_once_with(thinking=True, ephemeral=True)
    kwargs = sent(interaction.followup.send)
    file = kwargs["file"]
    assert file.filename == "map.png" and file.fp.read(8) == PNG
    assert kwargs["embed"].image.url == "attachment://map.png" and kwargs["ephemeral"] is True
