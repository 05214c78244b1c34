"""studybot's own bot, end to end: the real discord.py client against the loopback fake Discord."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio

from bot.config import Settings
from bot.discord.app import build_services, create_bot
from bot.retrieval.answering import AnswerService
from tests.e2e.fake_discord import FakeDiscord
from tests.notes_factory import note_text

pytestmark = pytest.mark.e2e

SIGMOID_NOTE = note_text(
    "sigmoid-function", "calculus", title="The sigmoid function", prerequisites=["derivatives"],
    aliases=["logistic function", "squashing function"],
    intuition="The sigmoid squashes any real number into the range between 0 and 1, like a soft switch.",
    formula="sigma(z) = 1 / (1 + e^(-z)), with derivative sigma(z) * (1 - sigma(z)).",
    why="Sigmoid outputs turn a network's score into a probability for binary classification.",
)


@pytest_asyncio.fixture(loop_scope="function")
async def env(tmp_path, small_corpus, seeded_index_dir, embedder):
    async with FakeDiscord() as fake:
        fake.operator = fake.add_member("operator")  # a bot owner (STUDYBOT_OWNER_IDS), no moderator
        settings = Settings(corpus_dir=small_corpus, index_dir=seeded_index_dir, data_dir=tmp_path / "data",
                            owner_ids=[int(fake.operator["id"])], question_cooldown_burst=3,
                            question_cooldown_seconds=60, _env_file=None)
        services = await build_services(settings, AnswerService(settings, embedder=embedder))
        bot = create_bot(settings, services)
        await fake.connect(bot)
        yield fake, bot, services
        await fake.close_client()
    assert fake.unknown_requests == []
    assert fake.client_errors == []


def embed_text(reply) -> str:
    return " ".join((e.get("title") or "") + " " + (e.get("description") or "") + " " +
                    " ".join(f["name"] + " " + f["value"] for e2 in [e] for f in e2.get("fields", []))
                    for e in reply.embeds)


def custom_ids(components) -> list[str]:
    out = []
    for row in components:
        for c in row.get("components", []):
            out.append(c.get("custom_id"))
    return out


async def test_mention_question_is_answered_in_the_channel_without_pinging(env):
    fake, bot, _ = env
    await fake.send_message(fake.general, fake.alice,
                            f"<@{fake.bot_user['id']}> @everyone how does backprop compute the gradient of each weight?")
    msg = await fake.wait_for_message(fake.general, lambda m: m.get("embeds"))
    assert msg["embeds"][0]["title"] == "Backpropagation"
    assert "Next topics" in [f["name"] for f in msg["embeds"][0]["fields"]] or msg["embeds"][0]["fields"]
    mentions = fake.allowed_mentions(msg)  # @everyone in the question pings nobody
    assert mentions["parse"] == [] and not mentions.get("users") and not mentions.get("roles")
    assert not mentions.get("replied_user")
    assert msg["embeds"][0]["footer"]["text"] == "You asked: how does backprop compute the gradient of each weight?"


async def test_ask_defers_then_follows_up_with_the_answer_and_components(env):
    fake, _, _ = env
    iid = await fake.slash(fake.alice, "ask", {"question": "what does the chain rule say?"})
    reply = await fake.wait_for_interaction_reply(iid)
    events = fake.interaction_responses(iid)
    assert events[0].kind == "callback" and events[0].type == 5  # deferred first
    assert reply.embeds[0]["title"] == "The chain rule"
    ids = custom_ids(reply.components)
    assert "sb:detail:chain-rule" in ids and "sb:next:chain-rule" in ids
    assert any(i.startswith("sb:fb:down:") for i in ids)
    assert not reply.ephemeral


async def test_private_ask_is_ephemeral(env):
    fake, _, _ = env
    iid = await fake.slash(fake.alice, "ask", {"question": "what is Bayes rule?", "private": True})
    reply = await fake.wait_for_interaction_reply(iid)
    assert reply.ephemeral and reply.embeds[0]["title"] == "Bayes' theorem"


async def test_off_topic_question_gets_a_kind_refusal(env):
    fake, _, _ = env
    iid = await fake.slash(fake.alice, "ask", {"question": "what temperature should I grill a steak at?"})
    reply = await fake.wait_for_interaction_reply(iid)
    assert reply.embeds[0]["title"] == "That's not in my notes"
    assert reply.components == []


async def test_more_detail_button_sends_the_full_note_privately(env):
    fake, _, _ = env
    iid = await fake.slash(fake.alice, "ask", {"question": "what does the chain rule say?"})
    answer = await fake.wait_for_interaction_reply(iid)
    click = await fake.click(fake.bob, answer.message, "sb:detail:chain-rule")
    detail = await fake.wait_for_interaction_reply(click)
    assert detail.ephemeral
    assert "## Worked example" in detail.embeds[0]["description"]


async def test_selecting_a_next_topic_shows_it(env):
    fake, _, _ = env
    iid = await fake.slash(fake.alice, "ask", {"question": "what does the chain rule say?"})
    answer = await fake.wait_for_interaction_reply(iid)
    pick = await fake.select(fake.alice, answer.message, "sb:next:chain-rule", ["backpropagation"])
    shown = await fake.wait_for_interaction_reply(pick)
    assert shown.embeds[0]["title"] == "Backpropagation" and shown.ephemeral


async def test_thumbs_down_with_reason_is_stored(env):
    fake, _, services = env
    iid = await fake.slash(fake.alice, "ask", {"question": "what does the chain rule say?"})
    answer = await fake.wait_for_interaction_reply(iid)
    down = next(i for i in custom_ids(answer.components) if i.startswith("sb:fb:down:"))
    click = await fake.click(fake.bob, answer.message, down)
    await fake.wait_for_modal(click)
    submit = await fake.submit_modal(fake.bob, {"sb:fb:reason": "it skipped the multivariable case"})
    thanks = await fake.wait_for_interaction_reply(submit)
    assert thanks.ephemeral and "recorded" in thanks.content
    stats = await services.study.questions.stats(fake.guild_id)
    assert stats.not_helpful == 1 and stats.answered == 1


async def test_corpus_add_then_the_new_note_answers(env):
    fake, _, _ = env
    iid = await fake.slash(fake.admin, ("corpus", "add"), {"file": ("sigmoid-function.md", SIGMOID_NOTE.encode())})
    reply = await fake.wait_for_interaction_reply(iid, timeout=60)
    assert reply.ephemeral and "added in this server only" in reply.embeds[0]["description"]
    assert "sigmoid-function" in reply.embeds[0]["description"]
    ask = await fake.slash(fake.alice, "ask", {"question": "what does the logistic sigmoid squashing function do?"})
    answer = await fake.wait_for_interaction_reply(ask)
    assert answer.embeds[0]["title"] == "The sigmoid function"


async def test_corpus_reload_is_refused_for_a_non_owner(env):
    fake, _, _ = env
    for user in (fake.alice, fake.admin):
        iid = await fake.slash(user, ("corpus", "reload"))
        reply = await fake.wait_for_interaction_reply(iid)
        assert reply.ephemeral and "Only the bot's owners" in reply.content


async def test_moderator_role_grants_server_notes_not_the_base(env):
    fake, _, services = env
    role = fake.add_role("Tutors")
    await fake.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(fake.guild_id), "role": role})
    admin = await fake.slash(fake.admin, ("config", "moderator-role"), {"role": role})
    assert "can now curate" in (await fake.wait_for_interaction_reply(admin)).content
    tutor = fake.add_member("tutor", roles=[role])
    iid = await fake.slash(tutor, ("corpus", "add"), {"file": ("sigmoid-function.md", SIGMOID_NOTE.encode())})
    reply = await fake.wait_for_interaction_reply(iid, timeout=60)
    assert reply.embeds and "added in this server only" in reply.embeds[0]["description"], reply.content
    refused = await fake.wait_for_interaction_reply(await fake.slash(tutor, ("corpus", "reload")))
    assert "Only the bot's owners" in refused.content
    actions = [e.action for e in await services.study.admin.audit_log(fake.guild_id)]
    assert actions[:2] == ["note.add", "config.moderator_role"]


async def test_broken_note_is_rejected_while_the_old_index_keeps_answering(env):
    fake, _, services = env
    broken = services.settings.corpus_dir / "calculus" / "broken.md"
    broken.write_text(note_text("broken", "calculus", prerequisites=["no-such-note"]))
    iid = await fake.slash(fake.operator, ("corpus", "reload"))
    reply = await fake.wait_for_interaction_reply(iid, timeout=60)
    assert "problems" in reply.embeds[0]["title"]
    assert "broken.md:6: unknown prerequisite 'no-such-note'" in reply.embeds[0]["description"]
    ask = await fake.slash(fake.alice, "ask", {"question": "what does the chain rule say?"})
    answer = await fake.wait_for_interaction_reply(ask)
    assert answer.embeds[0]["title"] == "The chain rule"


async def test_two_reloads_at_once_are_serialised(env):
    fake, _, services = env
    first = await fake.slash(fake.operator, ("corpus", "reload"))
    second = await fake.slash(fake.operator, ("corpus", "reload"))
    a, b = await asyncio.gather(fake.wait_for_interaction_reply(first, timeout=60),
                                fake.wait_for_interaction_reply(second, timeout=60))
    assert "Base corpus reloaded" == a.embeds[0]["title"] == b.embeds[0]["title"]
    audit = await services.study.admin.audit_log(fake.guild_id)
    assert [e.action for e in audit].count("base.reload") == 2


async def test_cooldown_gives_a_friendly_retry_time(env):
    fake, _, _ = env
    for _ in range(3):
        iid = await fake.slash(fake.bob, "ask", {"question": "what is Bayes rule?"})
        await fake.wait_for_interaction_reply(iid)
    iid = await fake.slash(fake.bob, "ask", {"question": "what is Bayes rule?"})
    reply = await fake.wait_for_interaction_reply(iid)
    assert reply.ephemeral and "Try again in" in reply.content


async def test_study_channel_answers_questions_without_a_mention(env):
    fake, _, _ = env
    iid = await fake.slash(fake.admin, ("config", "study-channel", "add"), {"channel": fake.study})
    await fake.wait_for_interaction_reply(iid)
    await fake.send_message(fake.study, fake.alice, "how does gradient descent take a step?")
    msg = await fake.wait_for_message(fake.study, lambda m: m.get("embeds"))
    assert msg["embeds"][0]["title"] == "Gradient descent"


async def test_topic_autocomplete_and_path(env):
    fake, _, _ = env
    choices = await fake.autocomplete(fake.alice, "topic", "name", "back")
    assert choices and choices[0]["value"] == "backpropagation"
    iid = await fake.slash(fake.alice, "path", {"target": "backpropagation"})
    reply = await fake.wait_for_interaction_reply(iid)
    text = reply.embeds[0]["description"]
    assert text.index("The derivative") < text.index("The chain rule") < text.index("Backpropagation")


async def test_questions_keep_being_answered_during_a_reload(env):
    fake, _, services = env
    path = services.settings.corpus_dir / "calculus" / "gradient-descent.md"
    path.write_text(path.read_text().replace("downhill.", "downhill, one small step at a time."))
    reload = await fake.slash(fake.operator, ("corpus", "reload"))
    asks = [await fake.slash(user, "ask", {"question": "what does the chain rule say?"})
            for user in (fake.alice, fake.bob)]
    replies = await asyncio.gather(*(fake.wait_for_interaction_reply(i, timeout=60) for i in [reload, *asks]))
    assert "**Changed:** gradient-descent" in replies[0].embeds[0]["description"]
    assert [r.embeds[0]["title"] for r in replies[1:]] == ["The chain rule", "The chain rule"]


async def test_sync_registers_the_slash_commands_loading_no_model_index_or_database(tmp_path, monkeypatch):
    from bot.discord.app import sync_commands
    from tests.test_config_and_cli import refuse_to_load

    refuse_to_load(monkeypatch)
    settings = Settings(corpus_dir=tmp_path / "no-corpus", index_dir=tmp_path / "no-index",
                        data_dir=tmp_path / "no-data", _env_file=None)
    async with FakeDiscord() as fake:
        count = await sync_commands(create_bot(settings, None), "token", fake.guild_id)
        names = {name for (guild, name, _type) in fake.commands if guild == fake.guild_id}
    assert {"ask", "topic", "next", "path", "corpus", "config"} <= names
    assert count == len(names)
    assert list(tmp_path.iterdir()) == []  # no database, no index written
