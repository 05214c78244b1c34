"""/config in its own cog: its moderator commands use the one moderator check /corpus uses; the timezone is anyone's."""

from __future__ import annotations

import pytest

from bot.discord.config._cog import ConfigCog
from bot.discord.corpus_admin._cog import is_moderator
from tests.fakes import fake_interaction, fake_member


@pytest.fixture
def cog(client, services):
    return ConfigCog(client)


def test_the_moderator_commands_share_the_corpus_check_and_timezone_has_none(cog):
    group = cog.config
    assert group.name == "config" and group.guild_only
    commands = {c.qualified_name: c for c in group.walk_commands() if not hasattr(c, "walk_commands")}
    assert set(commands) == {"config study-channel add", "config study-channel remove", "config moderator-role",
                             "config timezone"}
    for name in ("config study-channel add", "config study-channel remove", "config moderator-role"):
        assert commands[name].checks == [is_moderator]
    assert commands["config timezone"].checks == []


async def test_a_moderator_sets_study_channels_and_the_role(cog, client, services):
    channel, role = type("C", (), {"id": 42, "mention": "<#42>"})(), type("R", (), {"id": 777, "mention": "<@&777>"})()
    interaction = fake_interaction(client, user=fake_member(manage_guild=True))
    await cog.study_channel_add.callback(cog, interaction, channel=channel)
    assert "<#42> is now a study channel" in interaction.response.send_message.await_args.args[0]
    await cog.moderator_role.callback(cog, fake_interaction(client, user=fake_member(manage_guild=True)), role=role)
    await cog.study_channel_remove.callback(cog, fake_interaction(client, user=fake_member(manage_guild=True)),
                                            channel=channel)
    actions = [e.action for e in await services.study.admin.audit_log(5000)]
    assert sorted(actions) == ["config.moderator_role", "config.study_channel.add", "config.study_channel.remove"]
