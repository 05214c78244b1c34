"""Load and validate a whole corpus folder: `corpus/<discipline>/<id>.md`."""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.errors import CorpusInvalid, CorpusNotFound, Problem
from bot.knowledge.graph import PrerequisiteGraph
from bot.knowledge.notes import DISCIPLINES, Note, NoteLimits, ParseResult, QuizItem, Section, read_note_file


@dataclass
class CheckReport:
    """The outcome of validating a corpus folder."""

    root: Path
    notes: dict[str, Note] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # reported, but do not fail the check
    files: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Corpus:
    """A validated corpus: notes by id (sorted by discipline then id), the graph and a content hash."""

    root: Path
    notes: dict[str, Note]
    graph: PrerequisiteGraph
    content_hash: str

    def __len__(self) -> int:
        return len(self.notes)

    def get(self, note_id: str) -> Note | None:
        return self.notes.get(note_id)

    def by_discipline(self) -> dict[str, list[Note]]:
        out: dict[str, list[Note]] = defaultdict(list)
        for n in self.notes.values():
            out[n.discipline].append(n)
        return dict(out)

    def find(self, text: str, limit: int = 25) -> list[Note]:
        """Notes whose id, title or alias contains `text` (case-insensitive): for autocomplete."""
        t = text.strip().lower()
        scored = []
        for n in self.notes.values():
            names = [n.id, n.title.lower(), *(a.lower() for a in n.aliases)]
            if not t:
                rank = 2
            elif any(name.startswith(t) for name in names):
                rank = 0
            elif any(t in name for name in names):
                rank = 1
            else:
                continue
            scored.append((rank, n.title.lower(), n))
        return [n for *_, n in sorted(scored, key=lambda x: (x[0], x[1]))[:limit]]


def display_path(path: Path) -> str:
    """A path as a user would type it: relative to the working directory when inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def corpus_root_for(path: Path) -> Path:
    """The corpus root containing `path` (a corpus folder, one discipline folder, or one note file)."""
    path = path.resolve()
    if path.is_file():
        path = path.parent
    if path.name in DISCIPLINES and not any((path / d).is_dir() for d in DISCIPLINES):
        return path.parent
    return path


def check_corpus(root: Path, limits: NoteLimits = NoteLimits()) -> CheckReport:
    """Validate every note under `root` and the cross-note rules; never raises on bad content."""
    root = Path(root)
    if not root.is_dir():
        raise CorpusNotFound(f"No corpus folder at '{root}'. Run from the project folder or set STUDYBOT_CORPUS_DIR.")
    report = CheckReport(root=root)
    results: dict[Path, ParseResult] = {}
    for path in sorted(root.rglob("*.md")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or path.name.upper() == "README.MD":
            continue
        report.files += 1
        shown = display_path(path)
        res = read_note_file(path, shown, limits)
        results[path] = res
        report.problems += [Problem(shown, line, msg) for line, msg in res.problems]
        if len(rel.parts) != 2:
            report.problems.append(Problem(shown, 1, "notes live at corpus/<discipline>/<id>.md"))
            continue
        note = res.note
        if note is None:
            continue
        if note.discipline != rel.parts[0]:
            report.problems.append(Problem(shown, res.field_lines.get("discipline", 1),
                                           f"discipline '{note.discipline}' does not match folder '{rel.parts[0]}'"))
        if note.id != path.stem:
            report.problems.append(Problem(shown, res.field_lines.get("id", 1),
                                           f"id '{note.id}' does not match file name '{path.name}'"))

    by_id: dict[str, list[tuple[Path, ParseResult]]] = defaultdict(list)
    for path, res in results.items():
        if res.note is not None:
            by_id[res.note.id].append((path, res))
    for note_id, places in by_id.items():
        if len(places) > 1:
            first = display_path(places[0][0])
            for path, res in places[1:]:
                report.problems.append(Problem(display_path(path), res.field_lines.get("id", 1),
                                               f"duplicate id '{note_id}' (also in {first})"))
    notes = {nid: places[0][1].note for nid, places in by_id.items()}
    # Ids of notes that exist but failed to parse still count (as declared, and as named by their file), so
    # one bad file does not cascade into "unknown prerequisite" in the notes that need it.
    declared = set(notes) | {r.declared_id for r in results.values() if r.declared_id}
    declared |= {path.stem for path, r in results.items() if r.note is None}
    lines = {nid: places[0][1].field_lines.get("prerequisites", 1) for nid, places in by_id.items()}
    for note in notes.values():
        for p in note.prerequisites:
            if p not in declared:
                report.problems.append(Problem(note.path, lines[note.id], f"unknown prerequisite '{p}'"))
    known = {nid: [p for p in n.prerequisites if p in notes] for nid, n in notes.items()}
    graph = PrerequisiteGraph(known)
    for cycle in graph.cycles():
        first = notes[cycle[0]]
        chain = " → ".join([*cycle, cycle[0]])
        report.problems.append(Problem(first.path, lines[first.id],
                                       f"prerequisite cycle: {chain} (each note lists the next as a prerequisite)"))
    comps = graph.components()
    if len(comps) > 1:
        for comp in comps[1:]:
            first = notes[min(comp)]
            report.warnings.append(Problem(first.path, lines[first.id],
                                           f"warning: not connected to the rest of the prerequisite graph "
                                           f"(an island of {len(comp)} note(s): {', '.join(sorted(comp)[:5])})"))
    report.notes = dict(sorted(notes.items(), key=lambda kv: (DISCIPLINES.index(kv[1].discipline)
                                                               if kv[1].discipline in DISCIPLINES else 99, kv[0])))
    report.problems.sort()
    return report


def corpus_hash(notes: dict[str, Note]) -> str:
    """A hash of the corpus content, independent of file order."""
    h = hashlib.sha256()
    for nid in sorted(notes):
        h.update(nid.encode() + b"\0" + notes[nid].content_hash.encode() + b"\n")
    return h.hexdigest()


def load_corpus(root: Path, limits: NoteLimits = NoteLimits()) -> Corpus:
    """Load a corpus, raising CorpusInvalid with every problem if any note is bad."""
    report = check_corpus(root, limits)
    if not report.ok:
        raise CorpusInvalid(report.problems)
    if not report.notes:
        raise CorpusInvalid([Problem(display_path(Path(root)), 1, "the corpus has no notes")])
    graph = PrerequisiteGraph({nid: n.prerequisites for nid, n in report.notes.items()})
    return Corpus(root=Path(root), notes=report.notes, graph=graph, content_hash=corpus_hash(report.notes))


def corpus_to_json(corpus: Corpus) -> dict:
    """A snapshot of the notes (what the index was built from), so a last good corpus can be served."""
    return {"content_hash": corpus.content_hash, "notes": [asdict(n) for n in corpus.notes.values()]}


def corpus_from_json(data: dict, root: Path) -> Corpus:
    """Rebuild a Corpus from `corpus_to_json` output."""
    notes = {}
    for d in data["notes"]:
        d = dict(d)
        d["aliases"] = tuple(d["aliases"])
        d["prerequisites"] = tuple(d["prerequisites"])
        d["sections"] = tuple(Section(**sec) for sec in d["sections"])
        d["quiz"] = tuple(QuizItem(**{**q, "options": tuple(q["options"])}) for q in d["quiz"])
        notes[d["id"]] = Note(**d)
    graph = PrerequisiteGraph({nid: n.prerequisites for nid, n in notes.items()})
    return Corpus(root=Path(root), notes=notes, graph=graph, content_hash=data["content_hash"])
