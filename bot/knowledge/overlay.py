"""A server's view of the notes: the base corpus, plus the server's own notes (which override base notes with
the same id), minus the base notes it hides. Validation of a server note happens against that view."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from bot.errors import Problem
from bot.knowledge.corpus import Corpus
from bot.knowledge.graph import PrerequisiteGraph
from bot.knowledge.notes import DISCIPLINES, Note, NoteLimits, parse_note_bytes

SERVER_PATH = "server notes"


@dataclass(frozen=True)
class ServerNotes:
    """One server's own notes (by id) and the base note ids it hides. Immutable: a change makes a new one."""

    guild_id: int
    notes: Mapping[str, Note] = field(default_factory=dict)
    hidden: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "notes", MappingProxyType(dict(self.notes)))

    @property
    def empty(self) -> bool:
        return not self.notes and not self.hidden

    @property
    def version(self) -> str:
        """A hash of the notes and hidden ids: equal versions serve identical views."""
        h = hashlib.sha256()
        for nid in sorted(self.notes):
            h.update(f"{nid}\0{self.notes[nid].content_hash}\n".encode())
        h.update(("hidden:" + ",".join(sorted(self.hidden))).encode())
        return h.hexdigest()

    def with_note(self, note: Note) -> ServerNotes:
        return ServerNotes(self.guild_id, {**self.notes, note.id: note}, self.hidden)

    def without_note(self, note_id: str) -> ServerNotes:
        return ServerNotes(self.guild_id, {k: v for k, v in self.notes.items() if k != note_id}, self.hidden)

    def with_hidden(self, hidden: Iterable[str]) -> ServerNotes:
        return ServerNotes(self.guild_id, self.notes, frozenset(hidden))

    def excluded_base(self) -> frozenset[str]:
        """Base note ids this server does not see from the base: hidden ones and those it overrides."""
        return self.hidden | frozenset(self.notes)


def server_note_path(note: Note) -> str:
    """Where a server note says it comes from (shown as its source)."""
    return f"{SERVER_PATH}/{note.discipline}/{note.id}.md"


def merge(base: Corpus, server: ServerNotes | None) -> Corpus:
    """The corpus a server sees. Prerequisites that the server cannot see are dropped from its graph."""
    if server is None or server.empty:
        return base
    notes = {nid: n for nid, n in base.notes.items() if nid not in server.excluded_base()}
    notes.update(server.notes)
    order = {d: i for i, d in enumerate(DISCIPLINES)}
    notes = dict(sorted(notes.items(), key=lambda kv: (order.get(kv[1].discipline, 99), kv[0])))
    graph = PrerequisiteGraph({nid: [p for p in n.prerequisites if p in notes] for nid, n in notes.items()})
    digest = hashlib.sha256(f"{base.content_hash}\n{server.version}".encode()).hexdigest()
    return Corpus(root=base.root, notes=notes, graph=graph, content_hash=digest)


def visible_ids(base: Corpus, server: ServerNotes) -> set[str]:
    return (set(base.notes) - server.hidden) | set(server.notes)


def check_server_note(base: Corpus, server: ServerNotes, text: str | bytes, name: str,
                      limits: NoteLimits = NoteLimits()) -> tuple[Note | None, list[Problem]]:
    """Parse and validate a note a server adds, with the rules (and size limits) of the base corpus.

    Its prerequisites may name base notes the server sees or the server's own notes; the merged prerequisite
    graph (with this note in it) must stay free of cycles. Bytes that are not UTF-8 are reported at their line.
    """
    parsed = parse_note_bytes(text.encode("utf-8") if isinstance(text, str) else text, name, limits)
    problems = [Problem(name, line, msg) for line, msg in parsed.problems]
    if parsed.note is None:
        return None, sorted(problems)
    note = replace(parsed.note, path=server_note_path(parsed.note))
    line = parsed.field_lines.get("prerequisites", 1)
    if note.id in server.hidden:
        problems.append(Problem(name, parsed.field_lines.get("id", 1),
                                f"'{note.id}' is hidden in this server; unhide it before replacing it"))
    after = server.with_note(note)
    known = visible_ids(base, after)
    for p in note.prerequisites:
        if p in server.hidden and p not in server.notes:
            problems.append(Problem(name, line, f"prerequisite '{p}' is hidden in this server"))
        elif p not in known:
            problems.append(Problem(name, line, f"unknown prerequisite '{p}' (not a base note or one of this "
                                                "server's notes)"))
    if not problems:
        for cycle in merge(base, after).graph.cycles():
            if note.id in cycle:
                chain = " → ".join([*cycle, cycle[0]])
                problems.append(Problem(name, line, f"prerequisite cycle: {chain} (each note lists the next as a "
                                                    "prerequisite)"))
    return (note if not problems else None), sorted(problems)


def dependents(base: Corpus, server: ServerNotes, note_id: str) -> list[str]:
    """The server's own notes that list `note_id` as a prerequisite (they would break without it)."""
    return sorted(nid for nid, n in server.notes.items() if note_id in n.prerequisites and nid != note_id)


__all__ = ["ServerNotes", "check_server_note", "dependents", "merge", "server_note_path", "visible_ids"]
