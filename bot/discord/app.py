"""Build everything in one place: settings → services → bot. `studybot run` and the tests both use this."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import discord
from discord.ext import commands

from bot.config import Settings
from bot.curation import CurationService
from bot.discord.errors import StudyTree
from bot.discord.rate_limit import QuestionRateLimit
from bot.errors import StudybotError
from bot.knowledge.corpus import Corpus
from bot.retrieval.answering import Answer, AnswerService
from bot.retrieval.batching import MicroBatcher
from bot.study.service import StudyService

log = logging.getLogger("studybot")

EXTENSIONS = ("bot.discord.asking", "bot.discord.corpus_admin", "bot.discord.config", "bot.discord.study",
              "bot.discord.gaps", "bot.discord.privacy")


@dataclass
class Services:
    """What the cogs call. Built by `build_services`, or by a test with its own parts."""

    settings: Settings
    answers: AnswerService
    batcher: MicroBatcher
    study: StudyService
    rate_limit: QuestionRateLimit
    curation: CurationService
    corpus_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    background: list[asyncio.Task] = field(default_factory=list)  # e.g. following other processes' note changes

    # The few cross-feature steps every cog shares.
    async def ask(self, guild_id: int | None, user_id: int, question: str) -> tuple[Answer, int | None]:
        """Answer off the event loop (micro-batched) and log it; returns the answer and its log id."""
        known = await self.mastered(guild_id, user_id)
        answer = await self.batcher.answer(question, known, guild_id)
        if guild_id is None:
            return answer, None
        qid = await self.study.questions.log(guild_id, user_id, answer.question, answer.answered,
                                             answer.best.id if answer.best else None)
        return answer, qid

    def corpus(self, guild_id: int | None) -> Corpus:
        """The notes a server sees (base + its own - hidden); the base corpus in DMs."""
        return self.answers.corpus_for(guild_id)

    async def study_channels(self, guild_id: int) -> frozenset[int]:
        return (await self.study.admin.config(guild_id)).study_channel_ids

    async def mastered(self, guild_id: int | None, user_id: int) -> frozenset[str]:
        if guild_id is None:
            return frozenset()
        return await self.study.progress.mastered(guild_id, user_id)

    async def record_study(self, interaction: discord.Interaction, note_id: str, kind: str) -> None:
        if interaction.guild_id is not None:
            await self.study.progress.record(interaction.guild_id, interaction.user.id, note_id, kind)

    async def record_feedback(self, interaction: discord.Interaction, question_id: int, helpful: bool,
                              reason: str | None) -> None:
        """Store a 👍/👎; NotFound when the answer is not from this server."""
        await self.study.questions.feedback(interaction.guild_id or 0, interaction.user.id, question_id, helpful,
                                            reason)

    async def audit(self, guild_id: int, user_id: int, action: str, detail: str) -> None:
        await self.study.admin.log_action(guild_id, user_id, action, detail)

    async def close(self) -> None:
        for task in self.background:
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        await self.batcher.close()
        await self.study.close()


async def build_services(settings: Settings, answers: AnswerService | None = None) -> Services:
    """Open the database, then load the corpus and index (off the event loop).

    The database comes first: an unusable data folder fails in a second, before minutes of index work.
    """
    answers = answers or AnswerService(settings)
    study = await StudyService.open(settings.database_url, answers.corpus_for)
    try:
        if not answers.ready:
            report = await asyncio.to_thread(answers.ensure_ready)
            if report is not None:
                log.info("index built: %s", report.summary)
            for problem in answers.corpus_problems:
                log.warning("corpus problem (serving the last good index): %s", problem)
        curation = CurationService(study.store, answers, settings)
        restored = await curation.restore()
        if restored:
            log.info("server notes restored for %d server(s)", restored)
    except BaseException:
        await study.close()
        raise
    follow = asyncio.create_task(curation.follow_changes(), name="follow-server-note-changes")
    return Services(settings=settings, answers=answers, batcher=MicroBatcher(answers), study=study,
                    rate_limit=QuestionRateLimit(settings.question_cooldown_burst,
                                                 settings.question_cooldown_seconds),
                    curation=curation, background=[follow])


def intents() -> discord.Intents:
    """Guilds and messages, plus the privileged message-content intent (to read questions in channels)."""
    i = discord.Intents.default()
    i.message_content = True
    return i


class StudyBotMixin:
    """The parts shared by the single-process and the sharded bot."""

    def __init__(self, *args: Any, services: Services | None, **options: Any) -> None:
        super().__init__(*args, **options)
        self._services = services

    @property
    def services(self) -> Services:
        """What the cogs call. A bot built only to sync its commands has none (and runs no command)."""
        if self._services is None:
            raise StudybotError("This bot was built to sync commands only; start it with `studybot run`.")
        return self._services

    async def setup_hook(self) -> None:  # type: ignore[override]
        for ext in EXTENSIONS:
            await self.load_extension(ext)  # type: ignore[attr-defined]

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: questions in messages are handled by the asking cog's listener."""

    async def close(self) -> None:  # type: ignore[override]
        await super().close()  # type: ignore[misc]
        if self._services is not None:
            await self._services.close()


class StudyBot(StudyBotMixin, commands.Bot):
    pass


class ShardedStudyBot(StudyBotMixin, commands.AutoShardedBot):
    pass


def create_bot(settings: Settings, services: Services | None) -> commands.Bot:
    """The bot, wired to its services (None: a bot that only syncs its commands). Shards come from settings."""
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
                                            services=services, **options)
    else:
        bot = StudyBot(services=services, **options)
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
