"""The question log (answered or not, best note) and learners' feedback on answers: the server's stats."""

from __future__ import annotations

from datetime import datetime

from bot.errors import InvalidInput, NotFound
from bot.study.groups import clean_text
from bot.study.models import QuestionStats
from bot.study.storage import Store
from bot.study.when import local_day, now_or_utc, resolve_zone

MAX_QUESTION = 2000
MAX_REASON = 300


class QuestionLog:
    """The question log of a server: questions and feedback in, how many were answered out."""

    def __init__(self, store: Store):
        self._store = store

    async def log(self, guild_id: int, user_id: int, question: str, answered: bool, best_note_id: str | None = None,
                  now: datetime | None = None) -> int:
        """Log a question; an answered one also counts as 'asked' for its best note. Returns the question id."""
        now = now_or_utc(now)
        zone = resolve_zone(await self._store.timezone(user_id))
        return await self._store.log_question(guild_id, user_id, question.strip()[:MAX_QUESTION], answered,
                                              best_note_id, now, local_day(now, zone))

    async def feedback(self, guild_id: int, user_id: int, question_id: int, helpful: bool,
                       reason: str | None = None, now: datetime | None = None) -> None:
        """Record whether an answer helped (a second vote by the same user replaces the first)."""
        reason = clean_text(reason, "reason", MAX_REASON)
        if not await self._store.add_feedback(guild_id, question_id, user_id, helpful, reason, now_or_utc(now)):
            raise NotFound("That answer is too old or not from this server; ask again to rate it.")

    async def stats(self, guild_id: int, since: datetime | None = None) -> QuestionStats:
        """Questions asked, answered and unanswered, and feedback counts, since `since` (or ever)."""
        if since is not None and since.tzinfo is None:
            raise InvalidInput("since must be an aware datetime")
        return await self._store.question_stats(guild_id, since)
