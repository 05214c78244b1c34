"""Build everything in one place: settings → services → bot. `studybot run` and the tests both use this."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import discord
from discord.ext import commands

from bot.config import Settings
from bot.discord.errors import StudyTree
from bot.discord.limits import Cooldown
from bot.retrieval.answering import Answer, AnswerService
from bot.retrieval.batching import MicroBatcher
from bot.study.models import Audit

log = logging.getLogger("studybot")

EXTENSIONS = ("bot.discord.asking", "bot.discord.corpus_admin")


@dataclass
class Services:
    """What the cogs call. Built by `build_services`, or by a test with its own parts."""

    settings: Settings
    answers: AnswerService
    batcher: MicroBatcher
    store: Any  # bot.study.storage.Store: the one place SQL lives
    study: Any  # bot.study.service.StudyService, or None before the study features are wired
    cooldown: Cooldown
    corpus_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    # The few cross-feature steps every cog shares.
    async def _local_day(self, user_id: int, now: datetime) -> str:
        tz = await self.store.timezone(user_id)
        try:
            zone = ZoneInfo(tz) if tz else timezone.utc
        except (ZoneInfoNotFoundError, ValueError):
            zone = timezone.utc
        return now.astimezone(zone).date().isoformat()

    async def ask(self, guild_id: int | None, user_id: int, question: str) -> tuple[Answer, int | None]:
        """Answer off the event loop (micro-batched) and log it; returns the answer and its log id."""
        known = frozenset(await self.mastered(guild_id, user_id))
        answer = await self.batcher.answer(question, known)
        if guild_id is None:
            return answer, None
        now = datetime.now(timezone.utc)
        qid = await self.store.log_question(guild_id, user_id, answer.question, answer.answered,
                                            answer.best.id if answer.best else None, now,
                                            await self._local_day(user_id, now))
        return answer, qid

    async def study_channels(self, guild_id: int) -> frozenset[int]:
        return (await self.store.guild_config(guild_id)).study_channel_ids

    async def moderator_role(self, guild_id: int) -> int | None:
        return (await self.store.guild_config(guild_id)).moderator_role_id

    async def mastered(self, guild_id: int | None, user_id: int) -> set[str]:
        if guild_id is None or self.study is None:
            return set()
        return set(await self.study.mastered_topics(guild_id, user_id))

    async def last_studied(self, guild_id: int | None, user_id: int) -> str | None:
        if guild_id is None or self.study is None:
            return None
        return await self.study.last_studied(guild_id, user_id)

    async def record_study(self, interaction: discord.Interaction, note_id: str, kind: str) -> None:
        if interaction.guild_id is None:
            return
        now = datetime.now(timezone.utc)
        await self.store.record_study(interaction.guild_id, interaction.user.id, note_id, kind, now,
                                      await self._local_day(interaction.user.id, now))

    async def record_feedback(self, interaction: discord.Interaction, question_id: int, helpful: bool,
                              reason: str | None) -> bool:
        if interaction.guild_id is None:
            return False
        return await self.store.add_feedback(interaction.guild_id, question_id, interaction.user.id, helpful,
                                             reason, datetime.now(timezone.utc))

    async def audit(self, guild_id: int, user_id: int, action: str, detail: str) -> None:
        await self.store.add_audit(guild_id, Audit(user_id, action, detail), datetime.now(timezone.utc))

    async def close(self) -> None:
        await self.batcher.close()
        await self.store.close()


async def build_services(settings: Settings, answers: AnswerService | None = None) -> Services:
    """Load the corpus and index (off the event loop), open the database."""
    from bot.study.storage import Store

    answers = answers or AnswerService(settings)
    if not answers.ready:
        report = await asyncio.to_thread(answers.ensure_ready)
        if report is not None:
            log.info("index built: %s", report.summary)
    store = await Store.open(settings.database_path)
    study = None
    return Services(settings=settings, answers=answers, batcher=MicroBatcher(answers), store=store, study=study,
                    cooldown=Cooldown(settings.question_cooldown_burst, settings.question_cooldown_seconds))


def intents() -> discord.Intents:
    """Guilds and messages, plus the privileged message-content intent (to read questions in channels)."""
    i = discord.Intents.default()
    i.message_content = True
    return i


class StudyBotMixin:
    """The parts shared by the single-process and the sharded bot."""

    services: Services

    async def setup_hook(self) -> None:  # type: ignore[override]
        for ext in EXTENSIONS:
            await self.load_extension(ext)  # type: ignore[attr-defined]

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: questions in messages are handled by the asking cog's listener."""

    async def close(self) -> None:  # type: ignore[override]
        await super().close()  # type: ignore[misc]
        await self.services.close()


class StudyBot(StudyBotMixin, commands.Bot):
    pass


class ShardedStudyBot(StudyBotMixin, commands.AutoShardedBot):
    pass


def create_bot(settings: Settings, services: Services) -> commands.Bot:
    """The bot, wired to its services. Shards come from settings (several processes may split them)."""
    options: dict[str, Any] = dict(
        command_prefix=commands.when_mentioned,
        help_command=None,
        intents=intents(),
        tree_cls=StudyTree,
        allowed_mentions=discord.AllowedMentions.none(),
        owner_ids=set(settings.owner_ids) or None,
    )
    if settings.shard_count is not None or settings.shard_ids:
        bot: commands.Bot = ShardedStudyBot(shard_count=settings.shard_count, shard_ids=settings.shard_ids,
                                            **options)
    else:
        bot = StudyBot(**options)
    bot.services = services  # type: ignore[attr-defined]
    return bot


async def sync_commands(bot: commands.Bot, token: str, guild_id: int | None) -> int:
    """Log in over HTTP only and sync the slash commands (globally, or instantly to one dev guild)."""
    async with bot:
        await bot.login(token)
        if guild_id is not None:
            guild = discord.Object(id=guild_id)
            bot.tree.copy_global_to(guild=guild)
            synced = await bot.tree.sync(guild=guild)
        else:
            synced = await bot.tree.sync()
        return len(synced)
