"""/ask, /topic, /next and /path with strict fakes: parse → call the service → render."""

from __future__ import annotations

import discord
import pytest

from bot.discord.asking._cog import AskingCog
from bot.discord.errors import OnCooldown, user_message
from bot.errors import NotFound
from tests.fakes import fake_interaction, sent


@pytest.fixture
def cog(client, services):
    return AskingCog(client)


async def test_ask_defers_then_sends_the_answer_embed(cog, client):
    interaction = fake_interaction(client)
    await cog.ask.callback(cog, interaction, question="what does the chain rule say?")
    interaction.response.defer.assert_awaited_once_with(thinking=True, ephemeral=False)
    kwargs = sent(interaction.followup.send)
    assert kwargs["embed"].title == "The chain rule"
    assert "allowed_mentions" not in kwargs  # the bot-wide default: nobody is pinged
    assert any(getattr(i, "custom_id", "").startswith("sb:fb:down:") for i in kwargs["view"].children)


async def test_ask_logs_the_question(cog, client, services):
    await cog.ask.callback(cog, fake_interaction(client), question="what grill temperature for steak?")
    stats = await services.study.questions.stats(5000)
    assert (stats.total, stats.answered, stats.unanswered) == (1, 0, 1)


async def test_cooldown_raises_with_retry_time(cog, client):
    for _ in range(2):
        await cog.ask.callback(cog, fake_interaction(client), question="what is Bayes rule?")
    with pytest.raises(OnCooldown) as info:
        await cog.ask.callback(cog, fake_interaction(client), question="what is Bayes rule?")
    assert "Try again in" in user_message(info.value)


async def test_topic_shows_the_note_card(cog, client):
    interaction = fake_interaction(client)
    await cog.topic.callback(cog, interaction, name="gradient-descent")
    embed = sent(interaction.response.send_message)["embed"]
    assert embed.title == "Gradient descent"
    assert [f.value for f in embed.fields if f.name == "Learn first"] == ["The derivative"]


async def test_topic_accepts_a_typed_name_and_refuses_unknown(cog, client):
    interaction = fake_interaction(client)
    await cog.topic.callback(cog, interaction, name="backprop")
    assert sent(interaction.response.send_message)["embed"].title == "Backpropagation"
    with pytest.raises(NotFound, match="no topic called"):
        await cog.topic.callback(cog, fake_interaction(client), name="basket weaving")


async def test_next_suggests_what_builds_on_a_topic(cog, client):
    interaction = fake_interaction(client)
    await cog.next_.callback(cog, interaction, topic="chain-rule")
    kwargs = sent(interaction.response.send_message)
    assert "Backpropagation" in kwargs["embed"].description and kwargs["ephemeral"] is True


async def test_path_lists_prerequisites_in_order(cog, client):
    interaction = fake_interaction(client)
    await cog.path.callback(cog, interaction, target="backpropagation")
    text = sent(interaction.response.send_message)["embed"].description
    assert text.index("The derivative") < text.index("Gradient descent") < text.index("Backpropagation")


async def test_autocomplete_returns_at_most_25_choices(cog, client):
    choices = await cog.topic_autocomplete(fake_interaction(client), "")
    assert 0 < len(choices) <= 25 and all(isinstance(c, discord.app_commands.Choice) for c in choices)


async def test_component_errors_become_one_ephemeral_message(client):
    from bot.discord.asking._views import DetailButton

    interaction = fake_interaction(client)
    await DetailButton("removed-note").callback(interaction)
    kwargs = interaction.response.send_message.await_args
    assert "no longer in the corpus" in kwargs.args[0] and kwargs.kwargs["ephemeral"] is True


def test_the_bot_pings_nobody_by_default(tmp_path):
    """Set once on the bot; discord.py applies it to messages, interaction replies and follow-ups alike."""
    import discord

    from bot.config import Settings
    from bot.discord.app import create_bot

    bot = create_bot(Settings(data_dir=tmp_path, _env_file=None), None)
    am = bot.allowed_mentions
    assert am is not None and (am.everyone, am.users, am.roles, am.replied_user) == (False, False, False, False)
    assert am.to_dict() == discord.AllowedMentions.none().to_dict()
