"""What learners asked and the notes could not answer: the gap report and note drafts for moderators.
No discord import: the cog and the CLI call `GapService`."""

from bot.insights.draft import draft_note
from bot.insights.gaps import ClosestNote, GapGroup, GapReport, GapService, cluster

__all__ = ["ClosestNote", "GapGroup", "GapReport", "GapService", "cluster", "draft_note"]
