"""Moderator commands with strict fakes: permission checks, reload outcomes, add/remove safety."""

from __future__ import annotations

from unittest.mock import AsyncMock, MagicMock

import discord
import pytest

from bot.discord.corpus_admin._cog import CorpusAdminCog, is_moderator
from bot.discord.errors import NotModerator
from bot.errors import InvalidInput
from tests.fakes import fake_interaction, fake_member, sent
from tests.notes_factory import note_text


@pytest.fixture
def cog(client, services):
    return CorpusAdminCog(client, services)


async def test_non_moderator_is_refused(client):
    with pytest.raises(NotModerator):
        await is_moderator(fake_interaction(client, user=fake_member(manage_guild=False)))


async def test_manage_server_or_moderator_role_is_allowed(client, services):
    assert await is_moderator(fake_interaction(client, user=fake_member(manage_guild=True)))
    await services.study.admin.set_moderator_role(5000, 1, 777)
    assert await is_moderator(fake_interaction(client, user=fake_member(roles=[777])))


async def test_reload_reports_changes_and_audits(cog, client, services):
    path = services.settings.corpus_dir / "calculus" / "chain-rule.md"
    path.write_text(path.read_text().replace("rates of change multiply", "rates of change multiply (always)"))
    interaction = fake_interaction(client, user=fake_member(manage_guild=True))
    await cog.reload.callback(cog, interaction)
    embed = sent(interaction.followup.send)["embed"]
    assert "**Changed:** chain-rule" in embed.description
    audit = await services.study.admin.audit_log(5000)
    assert audit[0].action == "corpus.reload" and audit[0].actor_id == interaction.user.id


def attachment(name: str, data: bytes) -> MagicMock:
    a = MagicMock(spec_set=discord.Attachment)
    a.filename = name
    a.size = len(data)
    a.read = AsyncMock(return_value=data)
    return a


async def test_add_rejects_a_broken_note_and_changes_nothing(cog, client, services):
    bad = note_text("bad-note", "calculus", prerequisites=["ghost"])
    interaction = fake_interaction(client, user=fake_member(manage_guild=True))
    await cog.add.callback(cog, interaction, file=attachment("bad-note.md", bad.encode()))
    embed = sent(interaction.followup.send)["embed"]
    assert "not added" in embed.title and "unknown prerequisite 'ghost'" in embed.description
    assert not (services.settings.corpus_dir / "calculus" / "bad-note.md").exists()
    assert services.answers.corpus.get("bad-note") is None


async def test_add_refuses_non_markdown(cog, client):
    with pytest.raises(InvalidInput, match=r"\.md"):
        await cog.add.callback(cog, fake_interaction(client, user=fake_member(manage_guild=True)),
                               file=attachment("notes.pdf", b"%PDF"))


async def test_remove_refuses_a_note_others_depend_on(cog, client):
    with pytest.raises(InvalidInput, match="prerequisite of"):
        await cog.remove.callback(cog, fake_interaction(client, user=fake_member(manage_guild=True)),
                                  id="derivatives")


async def test_remove_a_leaf_note(cog, client, services):
    interaction = fake_interaction(client, user=fake_member(manage_guild=True))
    await cog.remove.callback(cog, interaction, id="bayes-theorem")
    assert "**Removed:** bayes-theorem" in sent(interaction.followup.send)["embed"].description
    assert services.answers.corpus.get("bayes-theorem") is None
