"""The gaps and privacy cogs follow the cog conventions: built from the bot alone, their services built on use."""

from __future__ import annotations

from bot.discord.gaps._cog import GapsCog
from bot.discord.privacy._cog import PrivacyCog
from bot.insights.gaps import GapService
from bot.privacy import PrivacyService
from tests.fakes import FakeClient

async def test_the_cogs_reach_their_services_through_the_bot(client):
    assert isinstance(GapsCog(client).service, GapService)
    assert isinstance(PrivacyCog(client).service, PrivacyService)


async def test_on_a_bot_that_only_syncs_no_loop_starts_and_no_service_is_built():
    from bot.config import Settings
    from bot.discord.app import create_bot

    bot = create_bot(Settings(_env_file=None), None)
    cog = PrivacyCog(bot)
    assert not cog.serving
    await cog.cog_load()
    assert not cog.daily_loop.is_running()
    assert GapsCog(FakeClient(object())).serving
