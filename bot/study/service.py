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

from collections.abc import Callable
from pathlib import Path

from bot.knowledge import Corpus
from bot.study.admin import AdminService
from bot.study.groups import GroupService
from bot.study.progress import ProgressService
from bot.study.questions import QuestionLog
from bot.study.quiz import QuizService
from bot.study.review import ReviewService
from bot.study.storage import Store


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
    async def open(cls, database_path: Path | str, corpus_provider: Callable[[int | None], Corpus]) -> StudyService:
        """Open (and migrate) the database at `database_path` (e.g. `settings.database_path`)."""
        return cls(await Store.open(database_path), corpus_provider)

    async def close(self) -> None:
        """Close the database."""
        await self.store.close()
