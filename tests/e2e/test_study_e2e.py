"""Study groups, sessions, reminders, quizzes, progress and the map, end to end: the real bot against the fake
Discord, with a restart on the same database in the middle where it matters."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from discord.ext import commands

from bot.config import Settings
from bot.discord.app import Services, build_services, create_bot
from bot.retrieval.answering import AnswerService
from tests.e2e.fake_discord import FakeDiscord

pytestmark = pytest.mark.e2e

PNG = b"\x89PNG\r\n\x1a\n"
GROUP = "Backprop club"


@dataclass
class World:
    """The fake Discord and the bot currently connected to it; `restart` rebuilds the bot on the same files."""

    fake: FakeDiscord
    settings: Settings
    embedder: Any
    bot: commands.Bot | None = None

    @property
    def services(self) -> Services:
        return self.bot.services  # type: ignore[union-attr]

    @property
    def reminders(self):
        return self.bot.get_cog("Reminders")  # type: ignore[union-attr]

    async def start(self) -> None:
        services = await build_services(self.settings, AnswerService(self.settings, embedder=self.embedder))
        self.bot = create_bot(self.settings, services)
        await self.fake.connect(self.bot)

    async def restart(self) -> None:
        """Close the client (which closes its services and database), then build and connect a new one."""
        await self.fake.close_client()
        assert self.bot is not None and self.bot.is_closed()
        await self.start()


@pytest_asyncio.fixture(loop_scope="function")
async def world(tmp_path, small_corpus, seeded_index_dir, embedder):
    settings = Settings(corpus_dir=small_corpus, index_dir=seeded_index_dir, data_dir=tmp_path / "data",
                        _env_file=None)
    async with FakeDiscord() as fake:
        w = World(fake, settings, embedder)
        await w.start()
        yield w
        await fake.close_client()
    assert fake.unknown_requests == []
    assert fake.client_errors == []


def ids_of(*users) -> list[int]:
    return sorted(int(u["id"]) for u in users)


def button_ids(components) -> list[str]:
    return [c["custom_id"] for row in components for c in row.get("components", []) if c.get("custom_id")]


async def reply_to(fake: FakeDiscord, user, command, options=None, **kwargs):
    return await fake.wait_for_interaction_reply(await fake.slash(user, command, options, **kwargs))


async def group_with_session(w: World) -> Any:
    """alice's group meeting in #study, bob a member, a session "in 1h"; returns the session."""
    fake = w.fake
    created = await reply_to(fake, fake.alice, "group create", {"name": GROUP, "topic": "gradients",
                                                                 "channel": fake.study})
    assert f"**{GROUP}**" in created.content and not created.ephemeral
    assert fake.allowed_mentions(created.message)["parse"] == []
    joined = await reply_to(fake, fake.bob, "group join", {"name": "backprop CLUB"})
    assert "(2 members)" in joined.content
    scheduled = await reply_to(fake, fake.bob, "session schedule", {"group": GROUP, "when": "in 1h",
                                                                     "topic": "the chain rule"})
    [session] = await w.services.study.groups.sessions(fake.guild_id)
    unix = int(session.starts_at.timestamp())
    assert f"<t:{unix}:F>" in scheduled.content and f"<t:{unix}:R>" in scheduled.content
    return session


def reminders_in(fake: FakeDiscord, channel) -> list[dict]:
    return [m for m in fake.messages_in(channel) if m["content"].startswith("⏰")]


async def test_session_reminder_posts_in_the_group_channel_mentioning_only_members(world):
    fake = world.fake
    session = await group_with_session(world)
    assert await world.reminders.send_due_reminders(now=session.remind_at - timedelta(minutes=1)) == (0, 0)
    assert await world.reminders.send_due_reminders(now=session.remind_at + timedelta(seconds=5)) == (1, 0)
    msg = await fake.wait_for_message(fake.study, lambda m: m["content"].startswith("⏰"))
    mentions = fake.allowed_mentions(msg)
    assert sorted(mentions["users"]) == ids_of(fake.alice, fake.bob)
    assert mentions["parse"] == [] and not mentions.get("roles") and not mentions.get("replied_user")
    assert ids_of(*msg["mentions"]) == ids_of(fake.alice, fake.bob) and not msg["mention_everyone"]
    assert "late" not in msg["content"] and f"<t:{int(session.starts_at.timestamp())}:R>" in msg["content"]
    assert reminders_in(fake, fake.general) == []


async def test_a_reminder_due_during_downtime_fires_once_after_restart_and_says_it_is_late(world):
    fake = world.fake
    session = await group_with_session(world)
    await world.restart()  # down before the reminder was due; back 25 minutes after it was
    back = session.remind_at + timedelta(minutes=25)
    assert await world.reminders.send_due_reminders(now=back) == (1, 0)
    assert await world.reminders.send_due_reminders(now=back + timedelta(minutes=1)) == (0, 0)
    [msg] = reminders_in(fake, fake.study)
    assert "Sorry, this reminder is 25 minutes late" in msg["content"] and "started" in msg["content"]
    assert sorted(fake.allowed_mentions(msg)["users"]) == ids_of(fake.alice, fake.bob)


async def test_quiz_by_buttons_then_progress_shows_the_answers(world):
    fake = world.fake
    started = await reply_to(fake, fake.alice, "quiz", {"scope": "chain-rule", "count": 2})
    assert started.ephemeral and started.embeds[0]["title"] == "Quiz · question 1 of 2"
    message, verdicts = started.message, []
    for _ in range(2):
        custom = button_ids(message["components"])
        run_id, position = map(int, custom[0].split(":")[1:3])
        q = next(q for q in (await world.services.study.quizzes.get(fake.guild_id, run_id)).questions
                 if q.position == position)
        right = world.services.answers.corpus.notes[q.note_id].quiz[q.item_index].answer
        choice = right if not verdicts else (right + 1) % 4  # first right, second wrong
        reply = await fake.wait_for_interaction_reply(await fake.click(fake.alice, message,
                                                                       f"sbq:{run_id}:{position}:{choice}"))
        assert reply.ephemeral and reply.message_id == int(message["id"])  # edited in place
        verdicts.append(reply.embeds[0]["title"])
        assert "**Why:**" in reply.embeds[0]["description"]
        message = reply.message
    assert verdicts == ["✅ Right!", "❌ Not quite"]
    assert reply.embeds[1]["title"].startswith("🏁 Finished: 1/2 right") and reply.components == []

    progress = await reply_to(fake, fake.alice, "progress")
    fields = {f["name"]: f["value"] for f in progress.embeds[0]["fields"]}
    assert progress.ephemeral and fields["Quiz answers"].startswith("1 correct of 2")
    assert "The chain rule" in fields["Topics studied (1)"]


async def test_quiz_buttons_survive_a_restart(world):
    fake = world.fake
    started = await reply_to(fake, fake.alice, "quiz", {"scope": "calculus", "count": 1})
    custom = button_ids(started.components)[0]
    await world.restart()
    reply = await fake.wait_for_interaction_reply(await fake.click(fake.alice, started.message, custom))
    assert reply.embeds[0]["title"] in ("✅ Right!", "❌ Not quite")
    assert reply.embeds[1]["title"].startswith("🏁 Finished")


async def test_group_quiz_in_the_groups_channel_ends_with_a_leaderboard(world):
    fake = world.fake
    await reply_to(fake, fake.alice, "group create", {"name": GROUP, "channel": fake.study})
    await reply_to(fake, fake.bob, "group join", {"name": GROUP})
    card = await reply_to(fake, fake.alice, "quiz", {"scope": "chain-rule", "count": 1}, channel=fake.study)
    assert not card.ephemeral and card.embeds[0]["title"] == "Group quiz: The chain rule"
    custom = button_ids(card.components)
    run_id = int(custom[0].split(":")[1])
    assert custom[-1] == f"sbq:{run_id}:finish"
    [q] = (await world.services.study.quizzes.get(fake.guild_id, run_id)).questions
    right = world.services.answers.corpus.notes[q.note_id].quiz[q.item_index].answer

    bob = await fake.wait_for_interaction_reply(await fake.click(fake.bob, card.message,
                                                                 f"sbq:{run_id}:{q.position}:{right}"))
    assert bob.ephemeral and bob.embeds[0]["title"] == "✅ Right!"
    await fake.wait_for_interaction_reply(await fake.click(fake.alice, card.message,
                                                           f"sbq:{run_id}:{q.position}:{(right + 1) % 4}"))
    refused = await fake.wait_for_interaction_reply(await fake.click(fake.bob, card.message, f"sbq:{run_id}:finish"))
    assert refused.ephemeral and "Only whoever started" in refused.content
    done = await fake.wait_for_interaction_reply(await fake.click(fake.alice, card.message, f"sbq:{run_id}:finish"))
    assert done.message_id == int(card.message["id"]) and done.components == []
    board = done.embeds[1]["description"]
    assert board.startswith(f"🥇 <@{fake.bob['id']}>: 1/1 right") and f"<@{fake.alice['id']}>" in board
    assert fake.allowed_mentions(done.message)["parse"] == []


async def test_map_is_a_png_attachment_in_an_embed(world):
    fake = world.fake
    iid = await fake.slash(fake.alice, "map", {"discipline": "calculus"})
    reply = await fake.wait_for_interaction_reply(iid, timeout=30)
    events = fake.interaction_responses(iid)
    assert events[0].type == 5  # deferred: rendering takes a moment
    [upload] = [f for e in events for f in e.files]
    assert upload.filename == "map.png" and upload.data.startswith(PNG)
    assert reply.ephemeral and reply.embeds[0]["image"]["url"] == "attachment://map.png"
    assert reply.message["attachments"][0]["filename"] == "map.png"


async def test_group_autocomplete_and_friendly_refusals(world):
    fake = world.fake
    await reply_to(fake, fake.alice, "group create", {"name": GROUP})
    choices = await fake.autocomplete(fake.bob, "group join", "name", "back")
    assert [c["value"] for c in choices] == [GROUP]
    refused = await reply_to(fake, fake.bob, "group rename", {"name": GROUP, "new_name": "Mine now"})
    assert refused.ephemeral and refused.content == f"Only the owner of '{GROUP}' (or a moderator) can do that."
    past = await reply_to(fake, fake.alice, "session schedule", {"group": GROUP, "when": "2020-01-01 10:00"})
    assert past.ephemeral and "in the past" in past.content
    zones = await fake.autocomplete(fake.alice, "config timezone", "name", "paris")
    assert zones[0]["value"] == "Europe/Paris" and len(zones) <= 25
    zone = await reply_to(fake, fake.alice, "config timezone", {"name": "Europe/Paris"})
    assert zone.ephemeral and "**Europe/Paris**" in zone.content
    assert re.search(r"it's \d\d:\d\d", zone.content)
