"""Study together: groups, sessions and their reminders, quizzes, reviews, progress and the study map."""

from __future__ import annotations

from discord.ext import commands

from bot.discord.study._groups_cog import GroupsCog
from bot.discord.study._progress_cog import ProgressCog
from bot.discord.study._quiz_cog import QuizCog
from bot.discord.study._reminders_cog import RemindersCog
from bot.discord.study._sessions_cog import SessionsCog
from bot.discord.study._views import DYNAMIC_ITEMS

COGS = (GroupsCog, SessionsCog, QuizCog, ProgressCog, RemindersCog)


async def setup(bot: commands.Bot) -> None:
    for cog in COGS:
        await bot.add_cog(cog(bot))
    bot.add_dynamic_items(*DYNAMIC_ITEMS)


async def teardown(bot: commands.Bot) -> None:
    bot.remove_dynamic_items(*DYNAMIC_ITEMS)
