"""`StudyService`: the one object the Discord cogs (and the CLI) call for everything study-related.

It groups small services by feature, each taking plain ids and text and returning `bot.study.models`
dataclasses; failures are `bot.errors` domain errors whose message is fit to show the user:

    service.admin      server settings, moderators, audit log, timezones        (AdminService)
    service.questions  question log, answer feedback, answered/unanswered stats (QuestionLog)
    service.groups     study groups, sessions, session reminders                (GroupService)
    service.quizzes    solo, group and review quizzes                           (QuizService)
    service.reviews    spaced-repetition cards, daily review DMs                (ReviewService)
    service.progress   progress, streaks, leaderboards, suggestions, the map    (ProgressService)

Every method that depends on the time takes an optional aware `now` (default: the current UTC time).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

from bot.errors import StorageUnavailable
from bot.knowledge import Corpus
from bot.study.admin import AdminService
from bot.study.groups import GroupService
from bot.study.progress import ProgressService
from bot.study.questions import QuestionLog
from bot.study.quiz import QuizService
from bot.study.review import ReviewService
from bot.study.storage import Store


def _open_and_close(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sqlite3.connect(path).close()


class StudyService:
    """The study layer's facade over one Store and the notes each server sees (`corpus_provider(guild_id)`)."""

    def __init__(self, store: Store, corpus_provider: Callable[[int | None], Corpus]):
        self.store = store
        self.admin = AdminService(store)
        self.questions = QuestionLog(store)
        self.groups = GroupService(store)
        self.quizzes = QuizService(store, corpus_provider)
        self.reviews = ReviewService(store, corpus_provider)
        self.progress = ProgressService(store, corpus_provider)

    @classmethod
    async def open(cls, database: Path | str, corpus_provider: Callable[[int | None], Corpus]) -> StudyService:
        """Open (and migrate) the database a URL or SQLite path names (e.g. `settings.database_url`).

        A database that cannot be used (read-only or full disk, missing permission, not a database, a server
        that refuses) raises StorageUnavailable with one line naming it.
        """
        from bot.study.storage.backend import DatabaseUrl

        sqlite_path = DatabaseUrl.parse(database).path
        try:
            if sqlite_path is not None:
                # Open once synchronously first: when aiosqlite's own connect fails, its worker thread outlives
                # the failure and prints a traceback if the event loop closes first (as `studybot run` does).
                await asyncio.to_thread(_open_and_close, sqlite_path)
            store = await Store.open(database)
        except (sqlite3.Error, OSError) as exc:
            if isinstance(exc, OSError) and exc.strerror:
                reason = exc.strerror + (f" ('{exc.filename}')" if exc.filename else "")
            else:
                reason = str(exc) or type(exc).__name__
            shown = sqlite_path or DatabaseUrl.parse(database).redacted
            raise StorageUnavailable(
                f"Cannot use the database '{shown}': {reason}. Check that its folder exists and is "
                "writable by this user and that the disk has free space (STUDYBOT_DATA_DIR, STUDYBOT_DATABASE)."
            ) from exc
        return cls(store, corpus_provider)

    async def close(self) -> None:
        """Close the database."""
        await self.store.close()
