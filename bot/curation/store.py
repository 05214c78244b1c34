"""The SQL of server notes, kept together: `server_notes`, `server_hidden` and their audit rows.

Every statement is addressed by `guild_id`: a server's notes are read and written only through its own id.
Each change, its audit row and a bump of the server's generation (`server_note_changes`) are written in one
transaction; the per-server note limit is checked inside it under a lock on the server (`tx.lock`), so two
processes adding at once cannot pass it together. On commit, PostgreSQL notifies every other process
(`NOTES_CHANNEL`); processes sharing one SQLite file poll the generations instead (`generations`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.errors import InvalidInput
from bot.study.storage import Store, Tx, from_db_time, to_db_time

BASE_SCOPE = 0  # audit rows of base-corpus changes made outside any server (the CLI)
NOTES_CHANNEL = "studybot_server_notes"  # NOTIFY payload: "<guild id>:<generation>"


@dataclass(frozen=True)
class StoredNote:
    guild_id: int
    note_id: str
    markdown: str
    updated_by: int
    updated_at: datetime


@dataclass(frozen=True)
class AuditRow:
    guild_id: int
    actor_id: int
    action: str
    note_id: str | None
    detail: str
    at: datetime


class ServerNotesStore:
    """Server notes and hidden base notes in the study database."""

    def __init__(self, store: Store):
        self._store = store
        self.written: dict[int, int] = {}  # the generation this process last wrote, per server

    async def listen(self, callback) -> bool:  # noqa: ANN001 - called with the payload "<guild id>:<generation>"
        """Be told of every other process's changes as they commit; False when the backend cannot (poll)."""
        return await self._store.db.listen(NOTES_CHANNEL, callback)

    async def notes(self, guild_id: int) -> list[StoredNote]:
        async with self._store.read() as tx:
            rows = await tx.fetch("SELECT * FROM server_notes WHERE guild_id = ? ORDER BY note_id", guild_id)
        return [_note(r) for r in rows]

    async def hidden(self, guild_id: int) -> frozenset[str]:
        async with self._store.read() as tx:
            rows = await tx.fetch("SELECT note_id FROM server_hidden WHERE guild_id = ?", guild_id)
        return frozenset(r[0] for r in rows)

    async def guilds(self) -> list[int]:
        """Every server that has notes or hides some (to restore them all at start)."""
        async with self._store.read() as tx:
            rows = await tx.fetch("SELECT guild_id FROM server_notes UNION SELECT guild_id FROM server_hidden "
                                  "ORDER BY guild_id")
        return [r[0] for r in rows]

    async def generations(self) -> dict[int, int]:
        """Every server's change counter: a process reloads the servers whose counter moved."""
        async with self._store.read() as tx:
            rows = await tx.fetch("SELECT guild_id, generation FROM server_note_changes")
        return {r[0]: r[1] for r in rows}

    async def put_note(self, guild_id: int, note_id: str, markdown: str, actor_id: int, at: datetime,
                       limit: int, detail: str = "") -> bool:
        """Add or replace a note (audited); True when it replaced one. InvalidInput past the server's limit."""
        async with self._store.transaction() as tx:
            await tx.lock(f"server-notes:{guild_id}")
            row = await tx.fetchrow("SELECT 1 FROM server_notes WHERE guild_id = ? AND note_id = ?", guild_id, note_id)
            if row is None:
                count = await tx.fetchval("SELECT COUNT(*) FROM server_notes WHERE guild_id = ?", guild_id)
                if count >= limit:
                    raise InvalidInput(f"This server already has {count} notes, the limit is {limit}. Remove one "
                                       "first (`/corpus list`, `/corpus remove`).")
            await tx.execute(
                "INSERT INTO server_notes (guild_id, note_id, markdown, updated_by, updated_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (guild_id, note_id) DO UPDATE SET markdown = excluded.markdown, "
                "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                guild_id, note_id, markdown, actor_id, to_db_time(at))
            action = "note.replace" if row is not None else "note.add"
            await _audit(tx, guild_id, actor_id, action, note_id, detail, at)
            self.written[guild_id] = await _changed(tx, guild_id)
            return row is not None

    async def delete_note(self, guild_id: int, note_id: str, actor_id: int, at: datetime) -> bool:
        async with self._store.transaction() as tx:
            removed = await tx.execute("DELETE FROM server_notes WHERE guild_id = ? AND note_id = ?", guild_id, note_id)
            if removed:
                await _audit(tx, guild_id, actor_id, "note.remove", note_id, "", at)
                self.written[guild_id] = await _changed(tx, guild_id)
            return removed > 0

    async def set_hidden(self, guild_id: int, note_id: str, hidden: bool, actor_id: int, at: datetime) -> bool:
        """Hide or unhide a base note (audited); False when nothing changed."""
        async with self._store.transaction() as tx:
            if hidden:
                changed = await tx.execute("INSERT INTO server_hidden (guild_id, note_id, hidden_by, hidden_at) "
                                           "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                                           guild_id, note_id, actor_id, to_db_time(at))
            else:
                changed = await tx.execute("DELETE FROM server_hidden WHERE guild_id = ? AND note_id = ?",
                                           guild_id, note_id)
            if changed:
                await _audit(tx, guild_id, actor_id, "note.hide" if hidden else "note.unhide", note_id, "", at)
                self.written[guild_id] = await _changed(tx, guild_id)
            return changed > 0

    async def audit(self, guild_id: int, actor_id: int, action: str, note_id: str | None, detail: str,
                    at: datetime) -> None:
        """Record a change made elsewhere (a base reload by an owner)."""
        async with self._store.transaction() as tx:
            await _audit(tx, guild_id, actor_id, action, note_id, detail, at)

    async def audit_log(self, guild_id: int, limit: int = 50) -> list[AuditRow]:
        async with self._store.read() as tx:
            rows = await tx.fetch("SELECT * FROM audit_log WHERE guild_id = ? ORDER BY id DESC LIMIT ?",
                                  guild_id, limit)
        return [AuditRow(r["guild_id"], r["actor_id"], r["action"], r["note_id"], r["detail"],
                         from_db_time(r["at"])) for r in rows]  # type: ignore[arg-type]


async def _audit(tx: Tx, guild_id: int, actor_id: int, action: str, note_id: str | None, detail: str,
                 at: datetime) -> None:
    await tx.execute("INSERT INTO audit_log (guild_id, actor_id, action, note_id, detail, at) VALUES (?, ?, ?, ?, ?, ?)",
                     guild_id, actor_id, action, note_id, detail[:500], to_db_time(at))


async def _changed(tx: Tx, guild_id: int) -> int:
    """Bump the server's generation and tell the other processes (delivered when the transaction commits)."""
    generation = await tx.fetchval(
        "INSERT INTO server_note_changes (guild_id, generation) VALUES (?, 1) ON CONFLICT (guild_id) "
        "DO UPDATE SET generation = server_note_changes.generation + 1 RETURNING generation", guild_id)
    await tx.notify(NOTES_CHANNEL, f"{guild_id}:{generation}")
    return int(generation)


def _note(r) -> StoredNote:
    return StoredNote(r["guild_id"], r["note_id"], r["markdown"], r["updated_by"], from_db_time(r["updated_at"]))  # type: ignore[arg-type]
