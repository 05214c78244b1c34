"""/corpus with strict fakes: who may change what, and that a server's change stays in that server."""

from __future__ import annotations

from unittest.mock import AsyncMock, MagicMock

import discord
import pytest

from bot.discord.corpus_admin._cog import CorpusAdminCog, is_moderator, is_owner
from bot.discord.errors import NotModerator, NotOwner
from bot.errors import InvalidInput, NoteInvalid
from tests.discord.conftest import OWNER  # noqa: F401 - the owner the fixtures set
from tests.fakes import fake_interaction, fake_member, sent
from tests.notes_factory import note_text

OTHER_GUILD = 5001


@pytest.fixture
def cog(client, services):
    return CorpusAdminCog(client)


def moderator_interaction(client, guild_id: int = 5000):
    return fake_interaction(client, user=fake_member(manage_guild=True), guild_id=guild_id)


async def test_non_moderator_is_refused(client):
    with pytest.raises(NotModerator):
        await is_moderator(fake_interaction(client, user=fake_member(manage_guild=False)))


async def test_manage_server_or_moderator_role_is_allowed(client, services):
    assert await is_moderator(fake_interaction(client, user=fake_member(manage_guild=True)))
    await services.study.admin.set_moderator_role(5000, 1, 777)
    assert await is_moderator(fake_interaction(client, user=fake_member(roles=[777])))


async def test_only_owners_may_reload_the_base(client):
    with pytest.raises(NotOwner):
        await is_owner(moderator_interaction(client))
    assert await is_owner(fake_interaction(client, user=fake_member(user_id=OWNER)))


async def test_owner_reload_reports_changes_and_audits(cog, client, services):
    path = services.settings.corpus_dir / "calculus" / "chain-rule.md"
    path.write_text(path.read_text().replace("rates of change multiply", "rates of change multiply (always)"))
    interaction = fake_interaction(client, user=fake_member(user_id=OWNER))
    await cog.reload.callback(cog, interaction)
    embed = sent(interaction.followup.send)["embed"]
    assert "**Changed:** chain-rule" in embed.description
    audit = await services.curation.audit_log(5000)
    assert audit[0].action == "base.reload" and audit[0].actor_id == OWNER


def attachment(name: str, data: bytes) -> MagicMock:
    a = MagicMock(spec_set=discord.Attachment)
    a.filename = name
    a.size = len(data)
    a.read = AsyncMock(return_value=data)
    return a


async def test_add_rejects_a_broken_note_and_changes_nothing(cog, client, services):
    bad = note_text("bad-note", "calculus", prerequisites=["ghost"])
    with pytest.raises(NoteInvalid, match="unknown prerequisite 'ghost'"):
        await cog.add.callback(cog, moderator_interaction(client), file=attachment("bad-note.md", bad.encode()))
    assert services.corpus(5000).get("bad-note") is None
    assert await services.curation.notes.notes(5000) == []


async def test_add_refuses_non_markdown_before_deferring(cog, client):
    interaction = moderator_interaction(client)
    with pytest.raises(InvalidInput, match=r"\.md"):
        await cog.add.callback(cog, interaction, file=attachment("notes.pdf", b"%PDF"))
    interaction.response.defer.assert_not_awaited()


async def test_add_is_for_this_server_only_and_never_writes_the_shared_folder(cog, client, services):
    before = sorted(p.name for p in services.settings.corpus_dir.rglob("*.md"))
    interaction = moderator_interaction(client)
    await cog.add.callback(cog, interaction, file=attachment("sigmoid.md", note_text("sigmoid", "calculus").encode()))
    assert "in this server only" in sent(interaction.followup.send)["embed"].description
    assert services.corpus(5000).get("sigmoid") is not None
    assert services.corpus(OTHER_GUILD).get("sigmoid") is None and services.corpus(None).get("sigmoid") is None
    assert sorted(p.name for p in services.settings.corpus_dir.rglob("*.md")) == before


async def test_remove_refuses_a_base_note(cog, client):
    with pytest.raises(InvalidInput, match="base note"):
        await cog.remove.callback(cog, moderator_interaction(client), id="bayes-theorem")


async def test_hide_then_unhide_a_base_note_in_one_server(cog, client, services):
    interaction = moderator_interaction(client)
    await cog.hide.callback(cog, interaction, id="bayes-theorem")
    assert "hidden in this server only" in sent(interaction.response.send_message)["embed"].description
    assert services.corpus(5000).get("bayes-theorem") is None
    assert services.corpus(OTHER_GUILD).get("bayes-theorem") is not None
    await cog.unhide.callback(cog, moderator_interaction(client), id="bayes-theorem")
    assert services.corpus(5000).get("bayes-theorem") is not None


async def test_server_notes_have_the_same_size_limits_as_the_corpus(cog, client, services):
    sentence = "The gradient points uphill, so we step the other way. "
    paragraph = (sentence * 200)[:9 * 1024].strip()  # one 9 KiB paragraph, in a note well under 50,000 bytes
    wordy = note_text("wordy", "calculus", prerequisites=["derivatives"], example=paragraph)
    with pytest.raises(NoteInvalid, match=r"wordy\.md:\d+: paragraph is 9,216 bytes, over the limit of 8,192"):
        await cog.add.callback(cog, moderator_interaction(client), file=attachment("wordy.md", wordy.encode()))
    with pytest.raises(InvalidInput, match="at most 50,000 bytes"):
        await cog.add.callback(cog, moderator_interaction(client), file=attachment("big.md", b"x" * 50_001))
    assert services.corpus(5000).get("wordy") is None


async def test_a_server_note_that_is_not_utf8_is_reported_at_its_line(cog, client):
    data = note_text("latin", "calculus", prerequisites=["derivatives"]).encode().replace(b"plain-words", b"plain\xe9words")
    with pytest.raises(NoteInvalid, match=r"latin\.md:13: not valid UTF-8"):
        await cog.add.callback(cog, moderator_interaction(client), file=attachment("latin.md", data))
