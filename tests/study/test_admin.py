"""Server settings, moderators, the audit log, timezones, the question log and feedback."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import InvalidInput, NotFound
from tests.study.conftest import GUILD, NOW, OTHER_GUILD


async def test_study_channels_and_moderator_role_are_per_server_and_audited(service):
    admin = service.admin
    assert (await admin.config(GUILD)).study_channel_ids == frozenset()
    config = await admin.set_study_channel(GUILD, 1, 5, now=NOW)
    await admin.set_study_channel(GUILD, 1, 5, now=NOW)  # again: no change, no audit entry
    await admin.set_study_channel(GUILD, 1, 6, now=NOW)
    config = await admin.set_study_channel(GUILD, 1, 6, enabled=False, now=NOW)
    assert config.study_channel_ids == {5}
    assert (await admin.config(OTHER_GUILD)).study_channel_ids == frozenset()

    await admin.set_moderator_role(GUILD, 1, 900, now=NOW)
    assert await admin.is_moderator(GUILD, [12, 900])
    assert not await admin.is_moderator(GUILD, [12])
    assert await admin.is_moderator(GUILD, [], manage_guild=True)
    assert not await admin.is_moderator(OTHER_GUILD, [900])
    await admin.log_action(GUILD, 1, "corpus.reload", "42 notes", now=NOW)

    actions = [e.action for e in await admin.audit_log(GUILD)]
    assert actions == ["corpus.reload", "config.moderator_role", "config.study_channel.remove",
                       "config.study_channel.add", "config.study_channel.add"]
    assert await admin.audit_log(OTHER_GUILD) == []
    with pytest.raises(InvalidInput):
        await admin.audit_log(GUILD, limit=0)


async def test_timezones_are_per_user_and_validated(service):
    assert await service.admin.timezone(7) == "UTC"
    assert await service.admin.set_timezone(7, "america/new_york", NOW) == "America/New_York"
    assert await service.admin.timezone(7) == "America/New_York"
    with pytest.raises(InvalidInput, match="Unknown timezone"):
        await service.admin.set_timezone(7, "Atlantis/Capital", NOW)
    assert await service.admin.set_timezone(7, None, NOW) == "UTC"


async def test_question_stats_and_feedback(service):
    q = service.questions
    first = await q.log(GUILD, 7, "what is a gradient?", True, "gradient-descent", NOW)
    await q.log(GUILD, 8, "best pizza?", False, None, NOW)
    await q.log(GUILD, 8, "what is bayes?", True, "bayes-theorem", NOW + timedelta(days=2))
    await q.log(OTHER_GUILD, 9, "elsewhere", True, "derivatives", NOW)
    await q.feedback(GUILD, 7, first, helpful=False, reason="too short", now=NOW)
    await q.feedback(GUILD, 7, first, helpful=True, now=NOW)  # a change of mind replaces the vote
    await q.feedback(GUILD, 8, first, helpful=True, now=NOW)
    with pytest.raises(NotFound):
        await q.feedback(OTHER_GUILD, 7, first, helpful=True, now=NOW)
    with pytest.raises(InvalidInput):
        await q.feedback(GUILD, 7, first, helpful=False, reason="ping @everyone", now=NOW)

    stats = await q.stats(GUILD)
    assert (stats.total, stats.answered, stats.unanswered, stats.helpful, stats.not_helpful) == (3, 2, 1, 2, 0)
    recent = await q.stats(GUILD, since=NOW + timedelta(days=1))
    assert (recent.total, recent.answered, recent.helpful) == (1, 1, 0)
    assert (await q.stats(OTHER_GUILD)).total == 1


async def test_the_service_opens_the_database_named_by_the_settings(tmp_path, study_corpus):
    from bot.config import Settings
    from bot.study import SCHEMA_VERSION, StudyService

    settings = Settings(data_dir=tmp_path / "fresh" / "data", _env_file=None)
    service = await StudyService.open(settings.database_path, lambda guild_id: study_corpus)
    try:
        assert settings.database_path == tmp_path / "fresh" / "data" / "studybot.sqlite3"
        assert settings.database_path.is_file()
        assert await service.store.schema_version() == SCHEMA_VERSION
    finally:
        await service.close()
