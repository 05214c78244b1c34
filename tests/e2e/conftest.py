"""Fixtures shared by the end-to-end tests of issue 15: studybot's own bot against the fake Discord."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest_asyncio
from discord.ext import commands

from bot.config import Settings
from bot.discord.app import Services, build_services, create_bot
from bot.retrieval.answering import AnswerService
from tests.conftest import REPO
from tests.e2e.fake_discord import FakeDiscord


@dataclass
class Live:
    """The fake Discord and the bot connected to it; `restart` rebuilds the bot on the same files."""

    fake: FakeDiscord
    settings: Settings
    answers: Any  # an AnswerService, or a factory of one
    bot: commands.Bot | None = None

    @property
    def services(self) -> Services:
        return self.bot.services  # type: ignore[union-attr]

    async def start(self) -> None:
        answers = self.answers() if callable(self.answers) else self.answers
        self.bot = create_bot(self.settings, await build_services(self.settings, answers))
        await self.fake.connect(self.bot)

    async def restart(self) -> None:
        await self.fake.close_client()
        await self.start()


async def _live(settings: Settings, answers: Any):
    async with FakeDiscord() as fake:
        live = Live(fake, settings, answers)
        await live.start()
        yield live
        await fake.close_client()
    assert fake.unknown_requests == []
    assert fake.client_errors == []


@pytest_asyncio.fixture(loop_scope="function")
async def small(tmp_path, small_corpus, seeded_index_dir, embedder):
    """The bot over the five-note test corpus."""
    settings = Settings(corpus_dir=small_corpus, index_dir=seeded_index_dir, data_dir=tmp_path / "data",
                        question_cooldown_burst=20, question_cooldown_seconds=60, _env_file=None)
    async for live in _live(settings, lambda: AnswerService(settings, embedder=embedder)):
        yield live


@pytest_asyncio.fixture(loop_scope="function")
async def shipped(tmp_path, shipped_service):
    """The bot over the shipped corpus (281 notes), sharing the session's built index."""
    settings = Settings(corpus_dir=REPO / "corpus", index_dir=shipped_service.settings.index_dir,
                        data_dir=tmp_path / "data", question_cooldown_burst=20, question_cooldown_seconds=60,
                        _env_file=None)
    async for live in _live(settings, shipped_service):
        yield live


async def reply_to(fake: FakeDiscord, user, command, options=None, **kwargs):
    """Run a slash command and wait for its visible reply."""
    return await fake.wait_for_interaction_reply(await fake.slash(user, command, options, **kwargs), timeout=60)


def button_ids(components) -> list[str]:
    return [c["custom_id"] for row in components for c in row.get("components", []) if c.get("custom_id")]


def embed_length(embed: dict) -> int:
    """Characters Discord counts against the 6,000 limit of a message's embeds."""
    return (len(embed.get("title") or "") + len(embed.get("description") or "")
            + len((embed.get("footer") or {}).get("text") or "") + len((embed.get("author") or {}).get("name") or "")
            + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", [])))


def assert_within_discord_limits(message: dict) -> None:
    """Discord's caps on what one message may carry (it refuses, or cuts, anything longer)."""
    assert len(message.get("content") or "") <= 2000
    assert sum(embed_length(e) for e in message.get("embeds", [])) <= 6000
    for e in message.get("embeds", []):
        assert len(e.get("title") or "") <= 256 and len(e.get("description") or "") <= 4096
        assert len(e.get("fields", [])) <= 25
        assert all(len(f["name"]) <= 256 and len(f["value"]) <= 1024 for f in e.get("fields", []))
        assert len((e.get("footer") or {}).get("text") or "") <= 2048
    for row in message.get("components", []):
        assert len(row.get("components", [])) <= 5
        assert all(len(c.get("custom_id") or "") <= 100 for c in row.get("components", []))
