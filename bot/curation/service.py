"""`CurationService`: who changes which notes. The base corpus belongs to the operators; each server's own notes
belong to its moderators. Callers (the cog, the CLI) check the permission and pass the guild id; everything a
server changes is addressed by that id, stored in the database, audited, and re-indexed for that server only.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
import zipfile
from dataclasses import dataclass, replace
from datetime import datetime

from bot.config import Settings
from bot.curation.store import BASE_SCOPE, AuditRow, ServerNotesStore, StoredNote
from bot.errors import CorpusInvalid, InvalidInput, NoteInvalid, NotFound
from bot.knowledge.overlay import ServerNotes, check_server_note, dependents
from bot.retrieval.answering import AnswerService, RefreshReport
from bot.study.storage import Store
from bot.study.when import now_or_utc

log = logging.getLogger("studybot.curation")


@dataclass(frozen=True)
class NoteChange:
    """What one change to a server's notes did."""

    guild_id: int
    note_id: str
    title: str
    action: str  # added, replaced, removed, hidden, unhidden
    overrides_base: bool = False
    seconds: float = 0.0  # re-indexing this server (the base is never rebuilt)
    embedded: int = 0  # chunks embedded for it


@dataclass(frozen=True)
class ListedNote:
    id: str
    title: str
    discipline: str
    overrides_base: bool
    updated_by: int
    updated_at: datetime


@dataclass(frozen=True)
class ServerListing:
    """A server's own notes and the base notes it hides."""

    guild_id: int
    notes: tuple[ListedNote, ...]
    hidden: tuple[tuple[str, str], ...]  # (id, title)
    limit: int


class CurationService:
    """Server notes (add, replace, remove, hide, unhide, list, export) and owner-only base reloads."""

    def __init__(self, store: Store, answers: AnswerService, settings: Settings):
        self.notes = ServerNotesStore(store)
        self.answers = answers
        self.max_notes = settings.server_notes_max
        # The base corpus's limits, and the (possibly lower) server-note size cap.
        self.max_bytes = min(settings.server_note_max_bytes, settings.max_note_bytes)
        self.limits = replace(settings.note_limits, note_bytes=self.max_bytes)
        self._locks: dict[int, asyncio.Lock] = {}
        self._base_lock = asyncio.Lock()
        self._seen: dict[int, int] = {}  # per server, the generation of its notes this process serves
        self.poll_seconds = settings.notes_poll_seconds

    def _lock(self, guild_id: int) -> asyncio.Lock:
        return self._locks.setdefault(guild_id, asyncio.Lock())

    # -- start ---------------------------------------------------------------------------------------------
    async def restore(self) -> int:
        """Load every server's notes from the database (at start); returns how many servers have some."""
        self._seen = await self.notes.generations()  # read first: a change made meanwhile is caught up later
        guilds = await self.notes.guilds()
        for guild_id in guilds:
            self.answers.servers.set_notes(await self._load(guild_id))
        return len(guilds)

    async def _load(self, guild_id: int) -> ServerNotes:
        base = self.answers.corpus
        server = ServerNotes(guild_id, {}, await self.notes.hidden(guild_id))
        rows = await self.notes.notes(guild_id)
        pending = list(rows)
        # Notes may name each other as prerequisites: add them in rounds until no more can be added.
        while pending:
            left = []
            for row in pending:
                note, _ = check_server_note(base, server, row.markdown, f"{row.note_id}.md", self.limits)
                if note is not None and note.id == row.note_id:
                    server = server.with_note(note)
                else:
                    left.append(row)
            if len(left) == len(pending):
                for row in left:  # e.g. a base note it needed was removed from the base: keep it stored, unserved
                    log.warning("server %s: note %s no longer validates; not served", guild_id, row.note_id)
                break
            pending = left
        return server

    # -- other processes' changes ----------------------------------------------------------------------------
    async def catch_up(self) -> list[int]:
        """Reload the servers whose notes another process changed since this one loaded them."""
        changed = []
        for guild_id, generation in (await self.notes.generations()).items():
            if self._seen.get(guild_id) == generation or self.notes.written.get(guild_id) == generation:
                self._seen[guild_id] = generation
                continue
            async with self._lock(guild_id):
                await self._install(await self._load(guild_id))
            self._seen[guild_id] = generation
            changed.append(guild_id)
            log.info("server %s: notes changed by another process (generation %s); re-indexed", guild_id,
                     generation)
        return changed

    async def follow_changes(self) -> None:
        """Run until cancelled: refresh each server another process changes, within `poll_seconds` on SQLite,
        at once on PostgreSQL (LISTEN/NOTIFY, with a slow poll as a safety net for a lost notification)."""
        wake = asyncio.Event()
        listening = await self.notes.listen(lambda _payload: wake.set())
        interval = max(self.poll_seconds, 10.0) if listening else self.poll_seconds
        while True:
            try:
                await asyncio.wait_for(wake.wait(), interval)
            except TimeoutError:
                pass
            wake.clear()
            try:
                await self.catch_up()
            except Exception:  # noqa: BLE001 - a database hiccup must not stop following
                log.exception("could not catch up with server-note changes; retrying")

    def server(self, guild_id: int) -> ServerNotes:
        return self.answers.servers.notes_of(guild_id) or ServerNotes(guild_id)

    async def _install(self, server: ServerNotes) -> tuple[float, int]:
        started = time.perf_counter()
        own = await asyncio.to_thread(self.answers.servers.set_notes, server, self.answers.state.retriever)
        return time.perf_counter() - started, own.embedded if own else 0

    # -- server notes ----------------------------------------------------------------------------------------
    def check_file(self, filename: str, size: int) -> None:
        """Refuse a file before downloading it: not Markdown, or over the size limit."""
        if not filename.lower().endswith(".md"):
            raise InvalidInput("Attach a Markdown note ending in `.md` (see docs/CORPUS_FORMAT.md).")
        if size > self.max_bytes:
            raise InvalidInput(f"That file is {size:,} bytes; a server note may be at most {self.max_bytes:,} bytes.")

    async def add(self, guild_id: int, actor_id: int, filename: str, data: bytes,
                  now: datetime | None = None) -> NoteChange:
        """Add or replace one of the server's notes (a base note's id overrides it in this server only)."""
        self.check_file(filename, len(data))
        async with self._lock(guild_id):
            server = self.server(guild_id)
            base = self.answers.corpus
            note, problems = check_server_note(base, server, data, filename, self.limits)
            if note is None:
                raise NoteInvalid(problems)
            text = data.decode("utf-8").replace("\r\n", "\n")  # valid: it parsed
            overrides = note.id in base.notes
            replaced = await self.notes.put_note(guild_id, note.id, text, actor_id, now_or_utc(now), self.max_notes,
                                                 "overrides the base note" if overrides else "")
            seconds, embedded = await self._install(server.with_note(note))
        return NoteChange(guild_id, note.id, note.title, "replaced" if replaced else "added", overrides, seconds,
                          embedded)

    async def remove(self, guild_id: int, actor_id: int, note_id: str, now: datetime | None = None) -> NoteChange:
        """Remove one of the server's notes (a base note it overrode comes back)."""
        async with self._lock(guild_id):
            server = self.server(guild_id)
            base = self.answers.corpus
            note = server.notes.get(note_id)
            if note is None:
                if note_id in base.notes:
                    raise InvalidInput(f"`{note_id}` is a base note, shared by every server. Hide it here with "
                                       "`/corpus hide`.")
                raise NotFound(f"This server has no note `{note_id[:80]}`.")
            overrides = note_id in base.notes and note_id not in server.hidden
            needed_by = [] if overrides else dependents(base, server, note_id)
            if needed_by:
                raise InvalidInput(f"`{note_id}` is a prerequisite of {', '.join(f'`{d}`' for d in needed_by[:10])}. "
                                   "Edit those notes first, then remove it.")
            await self.notes.delete_note(guild_id, note_id, actor_id, now_or_utc(now))
            seconds, embedded = await self._install(server.without_note(note_id))
        return NoteChange(guild_id, note_id, note.title, "removed", overrides, seconds, embedded)

    async def hide(self, guild_id: int, actor_id: int, note_id: str, now: datetime | None = None) -> NoteChange:
        """Hide a base note in this server (other servers keep it)."""
        async with self._lock(guild_id):
            server = self.server(guild_id)
            base_note = self.answers.corpus.get(note_id)
            if base_note is None:
                if note_id in server.notes:
                    raise InvalidInput(f"`{note_id}` is this server's own note; remove it with `/corpus remove`.")
                raise NotFound(f"There is no base note `{note_id[:80]}`.")
            if note_id in server.notes:
                raise InvalidInput(f"This server replaces `{note_id}` with its own note; remove that note first.")
            if note_id in server.hidden:
                raise InvalidInput(f"`{note_id}` is already hidden in this server.")
            needed_by = dependents(self.answers.corpus, server, note_id)
            if needed_by:
                raise InvalidInput(f"`{note_id}` is a prerequisite of this server's "
                                   f"{', '.join(f'`{d}`' for d in needed_by[:10])}. Edit those notes first.")
            await self.notes.set_hidden(guild_id, note_id, True, actor_id, now_or_utc(now))
            seconds, embedded = await self._install(server.with_hidden(server.hidden | {note_id}))
        return NoteChange(guild_id, note_id, base_note.title, "hidden", True, seconds, embedded)

    async def unhide(self, guild_id: int, actor_id: int, note_id: str, now: datetime | None = None) -> NoteChange:
        """Show a hidden base note in this server again."""
        async with self._lock(guild_id):
            server = self.server(guild_id)
            if note_id not in server.hidden:
                raise NotFound(f"`{note_id[:80]}` is not hidden in this server.")
            await self.notes.set_hidden(guild_id, note_id, False, actor_id, now_or_utc(now))
            seconds, embedded = await self._install(server.with_hidden(server.hidden - {note_id}))
        base_note = self.answers.corpus.get(note_id)
        return NoteChange(guild_id, note_id, base_note.title if base_note else note_id, "unhidden", True, seconds,
                          embedded)

    async def listing(self, guild_id: int) -> ServerListing:
        """The server's own notes (served or not) and the base notes it hides."""
        server, base = self.server(guild_id), self.answers.corpus
        rows = await self.notes.notes(guild_id)
        listed = []
        for row in rows:
            note = server.notes.get(row.note_id)
            listed.append(ListedNote(row.note_id, note.title if note else f"{row.note_id} (not served: invalid)",
                                     note.discipline if note else "?", row.note_id in base.notes, row.updated_by,
                                     row.updated_at))
        hidden = sorted(await self.notes.hidden(guild_id))
        return ServerListing(guild_id, tuple(listed),
                             tuple((h, base.notes[h].title if h in base.notes else h) for h in hidden), self.max_notes)

    async def export(self, guild_id: int) -> bytes:
        """The server's notes as a zip of Markdown files (`<discipline>/<id>.md`), plus `hidden.txt`."""
        rows: list[StoredNote] = await self.notes.notes(guild_id)
        if not rows and not await self.notes.hidden(guild_id):
            raise NotFound("This server has no notes of its own yet. Add one with `/corpus add`.")
        server = self.server(guild_id)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for row in rows:
                note = server.notes.get(row.note_id)
                folder = note.discipline if note else "invalid"
                archive.writestr(f"{folder}/{row.note_id}.md", row.markdown)
            hidden = sorted(await self.notes.hidden(guild_id))
            if hidden:
                archive.writestr("hidden.txt", "".join(f"{h}\n" for h in hidden))
        return buffer.getvalue()

    async def audit_log(self, guild_id: int, limit: int = 50) -> list[AuditRow]:
        return await self.notes.audit_log(guild_id, limit)

    # -- the base corpus (owners only: the caller checks) -------------------------------------------------------
    async def reload_base(self, actor_id: int, guild_id: int | None = None) -> RefreshReport:
        """Re-read the base corpus from disk and swap in the rebuilt index; audited either way."""
        scope = guild_id if guild_id is not None else BASE_SCOPE
        async with self._base_lock:
            try:
                report = await asyncio.to_thread(self.answers.refresh)
            except CorpusInvalid as exc:
                await self.notes.audit(scope, actor_id, "base.reload", None,
                                       f"rejected: {len(exc.problems)} problem(s)", now_or_utc(None))
                raise
        await self.notes.audit(scope, actor_id, "base.reload", None, report.build.summary, now_or_utc(None))
        return report


__all__ = ["CurationService", "ListedNote", "NoteChange", "ServerListing"]
