"""Every server owns its notes, end to end: one bot in two guilds, A and B, against the loopback fake Discord.

A's moderator (`admin`, Manage Server) curates A's notes; `operator` is a bot owner (STUDYBOT_OWNER_IDS) and
no moderator anywhere. Whatever A changes, B keeps the base corpus.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from discord.ext import commands

from bot.config import Settings
from bot.discord.app import Services, build_services, create_bot
from bot.retrieval.answering import AnswerService
from tests.e2e.fake_discord import FakeDiscord
from tests.notes_factory import note_text

pytestmark = pytest.mark.e2e

SIGMOID = note_text(
    "sigmoid-function", "calculus", title="The sigmoid function", prerequisites=["derivatives"],
    aliases=["logistic function", "squashing function"],
    intuition="The sigmoid squashes any real number into the range between 0 and 1, like a soft switch.",
    formula="sigma(z) = 1 / (1 + e^(-z)), with derivative sigma(z) * (1 - sigma(z)).",
    why="Sigmoid outputs turn a network's score into a probability for binary classification.",
)
SIGMOID_QUESTION = "what does the logistic sigmoid squashing function do?"
OUR_CHAIN_RULE = note_text(
    "chain-rule", "calculus", title="The chain rule, our way", prerequisites=["derivatives"],
    aliases=["derivative of a composition"],
    intuition="Peel the onion: differentiate the outer layer, then multiply by the derivative of the inner one.",
    formula="dy/dx = f'(g(x)) * g'(x) for y = f(g(x)).",
    why="Backpropagation applies the chain rule layer by layer.",
)
PNG = b"\x89PNG\r\n\x1a\n"


@dataclass
class Two:
    """The fake Discord with guilds A (the fake's first guild) and B, and the bot connected to both."""

    fake: FakeDiscord
    settings: Settings
    embedder: Any
    b: dict
    operator: dict
    bot: commands.Bot | None = None

    @property
    def services(self) -> Services:
        return self.bot.services  # type: ignore[union-attr]

    @property
    def a_channel(self) -> dict:
        return self.fake.general

    @property
    def b_channel(self) -> dict:
        return self.b["general"]

    async def start(self) -> None:
        services = await build_services(self.settings, AnswerService(self.settings, embedder=self.embedder))
        self.bot = create_bot(self.settings, services)
        await self.fake.connect(self.bot)

    async def restart(self) -> None:
        await self.fake.close_client()
        await self.start()

    async def reply(self, user, command, options=None, *, channel, timeout: float = 60):
        iid = await self.fake.slash(user, command, options, channel=channel)
        return await self.fake.wait_for_interaction_reply(iid, timeout=timeout)

    async def ask(self, question: str, channel) -> dict:
        reply = await self.reply(self.fake.alice, "ask", {"question": question, "private": True}, channel=channel)
        return reply.embeds[0]

    async def add(self, text: str, name: str, channel=None):
        return await self.reply(self.fake.admin, ("corpus", "add"), {"file": (name, text.encode())},
                                channel=channel or self.a_channel)


@pytest_asyncio.fixture(loop_scope="function")
async def two(tmp_path, small_corpus, seeded_index_dir, embedder):
    async with FakeDiscord(guild_name="Guild A") as fake:
        b = fake.add_guild("Guild B")
        operator = fake.add_member("operator")
        settings = Settings(corpus_dir=small_corpus, index_dir=seeded_index_dir, data_dir=tmp_path / "data",
                            owner_ids=[int(operator["id"])], question_cooldown_burst=50, _env_file=None)
        world = Two(fake, settings, embedder, b, operator)
        await world.start()
        yield world
        await fake.close_client()
    assert fake.unknown_requests == []
    assert fake.client_errors == []


def text_of(embed: dict) -> str:
    return " ".join([embed.get("title") or "", embed.get("description") or "",
                     *(f["name"] + " " + f["value"] for f in embed.get("fields", [])),
                     (embed.get("footer") or {}).get("text", "")])


async def test_a_note_of_a_answers_in_a_and_not_in_b(two):
    added = await two.add(SIGMOID, "sigmoid-function.md")
    assert added.ephemeral and "added in this server only" in added.embeds[0]["description"]
    assert not (two.settings.corpus_dir / "calculus" / "sigmoid-function.md").exists()  # never the shared folder
    in_a = await two.ask(SIGMOID_QUESTION, two.a_channel)
    in_b = await two.ask(SIGMOID_QUESTION, two.b_channel)
    assert in_a["title"] == "The sigmoid function"
    assert "The sigmoid function" not in text_of(in_b)
    a_choices = await two.fake.autocomplete(two.fake.alice, "topic", "name", "sigm", channel=two.a_channel)
    b_choices = await two.fake.autocomplete(two.fake.alice, "topic", "name", "sigm", channel=two.b_channel)
    assert [c["value"] for c in a_choices] == ["sigmoid-function"] and b_choices == []


async def test_a_replaces_chain_rule_and_b_keeps_the_base_note(two):
    added = await two.add(OUR_CHAIN_RULE, "chain-rule.md")
    assert "replaces the base note" in added.embeds[0]["description"]
    assert (await two.ask("what does the chain rule say?", two.a_channel))["title"] == "The chain rule, our way"
    assert (await two.ask("what does the chain rule say?", two.b_channel))["title"] == "The chain rule"
    topic_b = await two.reply(two.fake.alice, "topic", {"name": "chain-rule"}, channel=two.b_channel)
    assert topic_b.embeds[0]["title"] == "The chain rule" and "onion" not in text_of(topic_b.embeds[0])
    assert "chain rule" in (two.settings.corpus_dir / "calculus" / "chain-rule.md").read_text()  # base file intact


async def test_a_hides_a_base_note_and_b_still_sees_it(two):
    hidden = await two.reply(two.fake.admin, ("corpus", "hide"), {"id": "bayes-theorem"}, channel=two.a_channel)
    assert "hidden in this server only" in hidden.embeds[0]["description"]
    in_a = await two.ask("what is Bayes rule?", two.a_channel)
    assert in_a["title"] == "That's not in my notes" and "Bayes' theorem" not in text_of(in_a)
    assert (await two.ask("what is Bayes rule?", two.b_channel))["title"] == "Bayes' theorem"
    topic_a = await two.reply(two.fake.alice, "topic", {"name": "bayes-theorem"}, channel=two.a_channel)
    assert topic_a.ephemeral and "no topic" in topic_a.content
    listing = await two.reply(two.fake.admin, ("corpus", "list"), channel=two.a_channel)
    assert "`bayes-theorem`" in listing.embeds[0]["description"]
    listing_b = await two.reply(two.fake.admin, ("corpus", "list"), channel=two.b_channel)
    assert "bayes" not in listing_b.embeds[0]["description"]


async def test_a_moderator_cannot_reload_the_base_and_an_owner_can(two):
    refused = await two.reply(two.fake.admin, ("corpus", "reload"), channel=two.a_channel)
    assert refused.ephemeral and "Only the bot's owners" in refused.content
    done = await two.reply(two.operator, ("corpus", "reload"), channel=two.a_channel)
    assert done.ephemeral and done.embeds[0]["title"] == "Base corpus reloaded"
    audit = await two.services.curation.audit_log(two.fake.guild_id)
    assert [(e.action, e.actor_id) for e in audit][:1] == [("base.reload", int(two.operator["id"]))]
    not_a_mod = await two.reply(two.operator, ("corpus", "add"), {"file": ("s.md", SIGMOID.encode())},
                                channel=two.a_channel)
    assert "Only moderators" in not_a_mod.content  # owning the bot is not moderating a server


async def test_quiz_path_and_map_in_a_include_as_note_and_in_b_do_not(two):
    await two.add(SIGMOID, "sigmoid-function.md")
    quiz_a = await two.reply(two.fake.alice, "quiz", {"scope": "sigmoid-function", "count": 1}, channel=two.a_channel)
    assert quiz_a.embeds[0]["footer"]["text"] == "From: The sigmoid function"
    quiz_b = await two.reply(two.fake.alice, "quiz", {"scope": "sigmoid-function", "count": 1}, channel=two.b_channel)
    assert quiz_b.ephemeral and not quiz_b.embeds and "No topic or discipline matches" in quiz_b.content
    path_a = await two.reply(two.fake.alice, "path", {"target": "sigmoid-function"}, channel=two.a_channel)
    assert path_a.embeds[0]["description"].index("The derivative") < \
        path_a.embeds[0]["description"].index("The sigmoid function")
    path_b = await two.reply(two.fake.alice, "path", {"target": "sigmoid-function"}, channel=two.b_channel)
    assert path_b.ephemeral and not path_b.embeds and "no topic" in path_b.content

    async def map_png(channel) -> bytes:
        iid = await two.fake.slash(two.fake.alice, "map", {"discipline": "calculus"}, channel=channel)
        await two.fake.wait_for_interaction_reply(iid, timeout=60)
        [upload] = [f for e in two.fake.interaction_responses(iid) for f in e.files]
        assert upload.data.startswith(PNG)
        return upload.data

    nodes = {gid: set(two.services.corpus(gid).notes) for gid in (two.fake.guild_id, int(two.b["id"]))}
    assert "sigmoid-function" in nodes[two.fake.guild_id] and "sigmoid-function" not in nodes[int(two.b["id"])]
    assert await map_png(two.a_channel) != await map_png(two.b_channel)


async def test_a_restart_restores_every_servers_notes(two):
    await two.add(SIGMOID, "sigmoid-function.md")
    await two.add(OUR_CHAIN_RULE, "chain-rule.md", channel=two.b_channel)  # B's own replacement this time
    await two.reply(two.fake.admin, ("corpus", "hide"), {"id": "bayes-theorem"}, channel=two.a_channel)
    await two.restart()
    assert (await two.ask(SIGMOID_QUESTION, two.a_channel))["title"] == "The sigmoid function"
    assert (await two.ask(SIGMOID_QUESTION, two.b_channel))["title"] != "The sigmoid function"
    assert (await two.ask("what does the chain rule say?", two.b_channel))["title"] == "The chain rule, our way"
    assert (await two.ask("what does the chain rule say?", two.a_channel))["title"] == "The chain rule"
    assert (await two.ask("what is Bayes rule?", two.a_channel))["title"] != "Bayes' theorem"
    assert (await two.ask("what is Bayes rule?", two.b_channel))["title"] == "Bayes' theorem"


async def test_export_is_a_zip_of_the_servers_own_notes(two):
    await two.add(SIGMOID, "sigmoid-function.md")
    iid = await two.fake.slash(two.fake.admin, ("corpus", "export"), channel=two.a_channel)
    reply = await two.fake.wait_for_interaction_reply(iid)
    [upload] = [f for e in two.fake.interaction_responses(iid) for f in e.files]
    assert reply.ephemeral
    with zipfile.ZipFile(io.BytesIO(upload.data)) as archive:
        assert archive.namelist() == ["calculus/sigmoid-function.md"]
        assert archive.read("calculus/sigmoid-function.md").decode() == SIGMOID
    nothing = await two.reply(two.fake.admin, ("corpus", "export"), channel=two.b_channel)
    assert nothing.ephemeral and "no notes of its own" in nothing.content
