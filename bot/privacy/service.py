"""`PrivacyService`: learners own their data. Export it, forget it; old question logs expire; a server the bot
left is deleted after a grace period. The cog, the daily task and the CLI all call this service.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from bot.privacy.store import ForgetCounts, PrivacyStore, PurgeCounts
from bot.study.storage import Store, to_db_time
from bot.study.when import now_or_utc

log = logging.getLogger("studybot.privacy")

DEFAULT_RETENTION_DAYS = 180
DEFAULT_GRACE_DAYS = 30
EXPORT_FORMAT = 1


@dataclass(frozen=True)
class LearnerExport:
    """A learner's own data in one server."""

    guild_id: int
    user_id: int
    exported_at: datetime
    tables: dict[str, list[dict]]

    @property
    def rows(self) -> int:
        return sum(len(rows) for rows in self.tables.values())

    def to_json(self) -> bytes:
        """The attachment: what is stored about you in this server, and why (see README)."""
        return json.dumps({"format": EXPORT_FORMAT, "guild_id": self.guild_id, "user_id": self.user_id,
                           "exported_at": to_db_time(self.exported_at), "about": EXPLANATIONS, **self.tables},
                          ensure_ascii=False, indent=1).encode("utf-8")


# Why each part exists: shown in the export itself, so the file explains itself.
EXPLANATIONS = {
    "question_log": "Questions you asked here (text, answered or not, best note): moderators' gap report and stats; "
                    "deleted after the retention period.",
    "answer_feedback": "Your 👍/👎 and reasons on answers: tells moderators which notes to improve; deleted after "
                       "the retention period.",
    "quiz_attempts": "Your quiz answers: scores, leaderboards and what you have mastered.",
    "review_cards": "Your spaced-repetition cards: when each quiz item is due again.",
    "review_reminders": "Your opt-in daily review DM and the last day it was sent.",
    "study_events": "Topics you asked about, opened or were quizzed on: /progress and next-topic suggestions.",
    "daily_activity": "Days you studied (your local calendar): streaks.",
    "group_members": "Study groups you belong to.",
    "user_settings": "Your timezone (shared by every server): session times and reminders.",
}


@dataclass(frozen=True)
class DailyReport:
    """One pass of the daily purge."""

    purged: PurgeCounts
    cancelled: int  # removals cancelled because the bot is in those servers
    guilds_deleted: tuple[int, ...]


class PrivacyService:
    """Export and forget a learner's data in one server; retention purge; departed servers."""

    def __init__(self, store: Store, retention_days: int = DEFAULT_RETENTION_DAYS,
                 grace_days: int = DEFAULT_GRACE_DAYS, on_guild_deleted: Callable[[int], None] | None = None):
        self.queries = PrivacyStore(store)
        self.retention = timedelta(days=retention_days)
        self.grace = timedelta(days=grace_days)
        self._on_guild_deleted = on_guild_deleted

    async def export(self, guild_id: int, user_id: int, now: datetime | None = None) -> LearnerExport:
        """The learner's own rows in this server, nobody else's, no other server's."""
        return LearnerExport(guild_id, user_id, now_or_utc(now), await self.queries.export(guild_id, user_id))

    async def forget(self, guild_id: int, user_id: int) -> ForgetCounts:
        """Delete the learner's questions, feedback, quiz attempts, reviews and progress in this server.

        Aggregate counts stay: questions and votes remain as anonymous tallies, without text or user.
        """
        counts = await self.queries.forget(guild_id, user_id)
        log.info("guild %s: a learner's data was forgotten (%s)", guild_id, asdict(counts))
        return counts

    async def purge_expired(self, now: datetime | None = None) -> PurgeCounts:
        """Delete logged questions and feedback older than the retention period; nothing else."""
        return await self.queries.purge_before(now_or_utc(now) - self.retention)

    async def guild_removed(self, guild_id: int, now: datetime | None = None) -> None:
        """The bot was removed from a server: its data goes after the grace period unless the bot comes back."""
        await self.queries.mark_removed(guild_id, now_or_utc(now))

    async def guilds_present(self, guild_ids: Iterable[int]) -> int:
        """The bot is in these servers (joined again, or found at start): cancel their pending deletion."""
        return await self.queries.cancel_removal(sorted(set(guild_ids)))

    async def purge_departed(self, now: datetime | None = None,
                             owns: Callable[[int], bool] = lambda guild_id: True) -> list[int]:
        """Delete the notes and member data of every server left longer ago than the grace period.

        `owns` limits the pass to this process's servers (its shards), so a server that came back while this
        process was not watching is never deleted by it.
        """
        cutoff = now_or_utc(now) - self.grace
        deleted = []
        for guild_id, removed_at in (await self.queries.departures()).items():
            if removed_at >= cutoff or not owns(guild_id):
                continue
            rows = await self.queries.purge_guild(guild_id, cutoff)
            if rows:
                deleted.append(guild_id)
                log.info("guild %s: deleted %s rows, %s days after the bot was removed", guild_id,
                         sum(rows.values()), self.grace.days)
                if self._on_guild_deleted is not None:
                    self._on_guild_deleted(guild_id)
        return deleted

    async def daily(self, present: Iterable[int] = (), now: datetime | None = None,
                    owns: Callable[[int], bool] = lambda guild_id: True) -> DailyReport:
        """The daily task: cancel removals of servers the bot is in, purge expired logs, delete departed servers."""
        cancelled = await self.guilds_present(present)
        purged = await self.purge_expired(now)
        return DailyReport(purged, cancelled, tuple(await self.purge_departed(now, owns)))


__all__ = ["DailyReport", "ForgetCounts", "LearnerExport", "PrivacyService", "PurgeCounts"]
