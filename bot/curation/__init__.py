"""Who changes which notes: the base corpus (operators) and each server's own notes (its moderators).
No discord import: the cogs and the CLI call `CurationService`."""

from bot.curation.service import CurationService, ListedNote, NoteChange, ServerListing
from bot.curation.store import BASE_SCOPE, AuditRow, ServerNotesStore

__all__ = ["AuditRow", "BASE_SCOPE", "CurationService", "ListedNote", "NoteChange", "ServerListing",
           "ServerNotesStore"]
