"""Issue 15, asking side, end to end: markup never changes an answer (2), one member's error stays theirs (3),
and questions by DM (6)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import reply_to
from tests.e2e.fake_discord import EPHEMERAL

pytestmark = pytest.mark.e2e

MARKUP = "<@111> <@&222> <#333> <:pepe:444>"
PLAIN = "what is a confusion matrix?"


def public(fake, channel) -> list[dict]:
    """The bot's messages in a channel that everyone sees."""
    return [m for m in fake.messages_in(channel) if not m["flags"] & EPHEMERAL]


def without_footer(embed: dict) -> dict:
    return {k: v for k, v in embed.items() if k != "footer"}


def no_pings(mentions: dict | None) -> bool:
    return (mentions is not None and mentions.get("parse") == [] and not mentions.get("users")
            and not mentions.get("roles") and not mentions.get("replied_user"))


async def test_markup_in_a_question_changes_nothing_by_mention_or_by_ask(shipped):
    fake = shipped.fake
    plain = await reply_to(fake, fake.alice, "ask", {"question": PLAIN})
    top = plain.embeds[0]["title"]
    assert top == "Accuracy, precision, recall, F1 and ROC curves"
    by_ask = await reply_to(fake, fake.alice, "ask", {"question": f"{MARKUP} {PLAIN}"})
    await fake.send_message(fake.general, fake.bob, f"<@{fake.bot_user['id']}> {MARKUP} {PLAIN}")
    by_mention = await fake.wait_for_message(fake.general, lambda m: m.get("embeds") and m.get("message_reference"),
                                             timeout=30)
    for embed, message in ((by_ask.embeds[0], by_ask.message), (by_mention["embeds"][0], by_mention)):
        assert embed["title"] == top
        assert without_footer(embed) == without_footer(plain.embeds[0])  # the same answer, sources, next topics
        assert embed["footer"]["text"] == f"You asked: {PLAIN}"  # shown without the raw markup
        assert no_pings(fake.allowed_mentions(message)) and message["mentions"] == []
        assert not message["mention_roles"] and not message["mention_everyone"]


async def test_an_invalid_question_is_refused_privately_before_any_public_defer(small):
    fake = small.fake
    iid = await fake.slash(fake.alice, "ask", {"question": MARKUP})
    reply = await fake.wait_for_interaction_reply(iid)
    events = fake.interaction_responses(iid)
    assert [e.type for e in events if e.kind == "callback"] == [4]  # answered at once, never deferred
    assert reply.ephemeral and "mentions, emoji or links" in reply.content
    assert public(fake, fake.general) == []  # nothing public at all


async def test_an_error_after_the_public_defer_replaces_the_placeholder_privately(small):
    fake = small.fake
    small.services.answers._state = None  # the notes are (re)loading: answering fails only after the defer
    iid = await fake.slash(fake.alice, "ask", {"question": "what does the chain rule say?"})
    reply = await fake.wait_for_interaction_reply(iid)
    assert reply.ephemeral and "still loading its notes" in reply.content
    kinds = [(e.kind, e.type) for e in fake.interaction_responses(iid)]
    assert kinds == [("callback", 5), ("delete", None), ("followup", None)]
    assert public(fake, fake.general) == []  # the public "thinking…" message is gone, nothing else shows


async def test_a_question_by_dm_is_answered_there_through_the_same_service(small):
    fake = small.fake
    dm = fake.dm_channel(fake.alice)
    await fake.send_message(dm, fake.alice, "how does gradient descent take a step?")
    answer = await fake.wait_for_message(dm, lambda m: m.get("embeds"), timeout=30)
    assert answer["embeds"][0]["title"] == "Gradient descent"
    assert "sb:detail:gradient-descent" in [c.get("custom_id") for row in answer["components"]
                                           for c in row["components"]]
    assert no_pings(fake.allowed_mentions(answer))
    click = await fake.click(fake.alice, answer, "sb:detail:gradient-descent")  # its buttons work in DMs too
    assert "## Worked example" in (await fake.wait_for_interaction_reply(click)).embeds[0]["description"]
    assert public(fake, fake.general) == []


async def test_a_greeting_by_dm_gets_one_reply_saying_how_to_use_the_bot(small):
    fake = small.fake
    dm = fake.dm_channel(fake.bob)
    greeting = await fake.send_message(dm, fake.bob, "hi!")
    help_ = await fake.wait_for_message(dm, after=greeting)
    assert "Ask me anything about the study topics right here" in help_["content"]
    assert "/ask" in help_["content"] and "in a server we share" in help_["content"]
    assert len(fake.messages_in(dm)) == 1


async def test_server_only_commands_are_hidden_in_dms_and_explain_themselves_if_reached(small):
    fake = small.fake
    fake.register_tree(small.bot.tree)
    synced = {name: c for (guild, name, _), c in fake.commands.items() if guild is None}
    for name in ("quiz", "review", "progress", "leaderboard", "map", "group", "session", "corpus", "config"):
        assert synced[name]["dm_permission"] is False, name  # Discord does not offer them in DMs
    for name in ("ask", "topic", "next", "path"):
        assert synced[name].get("dm_permission", True) is not False, name
    reply = await reply_to(fake, fake.alice, "quiz", {"scope": "calculus"}, channel=fake.dm_channel(fake.alice))
    assert reply.ephemeral and "belongs to a server" in reply.content and "ask me a question" in reply.content
    suggestions = await reply_to(fake, fake.alice, "next", channel=fake.dm_channel(fake.alice))
    assert suggestions.embeds[0]["title"] == "Where to start"
    assert "per server" in suggestions.embeds[0]["footer"]["text"]
