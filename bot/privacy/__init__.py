"""Learners own their data: export, forget-me, the retention purge, and deleting servers the bot left.
No discord import: the cog, the daily task and the CLI call `PrivacyService`."""

from bot.privacy.service import DailyReport, ForgetCounts, LearnerExport, PrivacyService, PurgeCounts

__all__ = ["DailyReport", "ForgetCounts", "LearnerExport", "PrivacyService", "PurgeCounts"]
