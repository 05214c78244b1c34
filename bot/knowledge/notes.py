"""Parse one Markdown note (YAML front matter + `##` sections + a machine-readable quiz) into a Note.

Parsing never raises on bad content: it returns the problems it found, each with a line number, so the
validator can report them all at once as `path:line: message`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import frontmatter
import yaml

DISCIPLINES: tuple[str, ...] = (
    "statistics",
    "calculus",
    "linear_algebra",
    "algorithms",
    "ai_basics",
    "machine_learning",
    "deep_learning",
    "psychology",
    "biology",
)
DISCIPLINE_LABELS: dict[str, str] = {
    "statistics": "Statistics & probability",
    "calculus": "Calculus",
    "linear_algebra": "Linear algebra",
    "algorithms": "Algorithms & CS",
    "ai_basics": "AI basics",
    "machine_learning": "Machine learning",
    "deep_learning": "Deep learning",
    "psychology": "Psychology",
    "biology": "Biology",
}
LEVELS: tuple[str, ...] = ("intro", "core", "advanced")
REQUIRED_FIELDS: tuple[str, ...] = ("id", "title", "discipline", "aliases", "prerequisites", "level", "summary")
QUIZ_SECTION = "Check yourself"
# Required sections in order; a tuple lists accepted alternatives for one slot.
REQUIRED_SECTIONS: tuple[tuple[str, ...], ...] = (
    ("Intuition",),
    ("Key formula", "Key idea"),
    ("Worked example",),
    ("Why it matters for deep learning",),
    (QUIZ_SECTION,),
)
# Drafts made from the gap report mark what the author must write with this; a note still holding one is refused.
DRAFT_PLACEHOLDER = "<<FILL"
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_QUESTION = re.compile(r"^\s{0,3}(\d+)[.)]\s+(\S.*)$")
_OPTION = re.compile(r"^\s*[-*]\s+\[([ xX])\]\s+(\S.*)$")
_WHY = re.compile(r"^\s*(?:\*\*)?Why:(?:\*\*)?\s*(.*)$")


@dataclass(frozen=True)
class NoteLimits:
    """Size caps (UTF-8 bytes) that keep one note from costing minutes of embedding or gigabytes of memory."""

    note_bytes: int = 64 * 1024
    section_bytes: int = 16 * 1024
    paragraph_bytes: int = 8 * 1024

    @property
    def unparsed_bytes(self) -> int:
        """Above this a note is not even parsed: only its size is reported."""
        return 4 * self.note_bytes


@dataclass(frozen=True)
class Section:
    """One `##` section of a note's body."""

    heading: str
    text: str
    line: int  # 1-based line of the heading in the file


@dataclass(frozen=True)
class QuizItem:
    """A multiple-choice check-yourself question."""

    question: str
    options: tuple[str, ...]
    answer: int  # index into options
    why: str
    line: int


@dataclass(frozen=True)
class Note:
    """A validated corpus note."""

    id: str
    title: str
    discipline: str
    aliases: tuple[str, ...]
    prerequisites: tuple[str, ...]
    level: str
    summary: str
    path: str  # as given to the parser (relative to the corpus root's parent when loaded from a corpus)
    sections: tuple[Section, ...]
    quiz: tuple[QuizItem, ...]
    content_hash: str

    def section(self, heading: str) -> Section | None:
        """The section with this heading, if any."""
        return next((s for s in self.sections if s.heading == heading), None)

    @property
    def explanation_sections(self) -> tuple[Section, ...]:
        """Every section a learner reads as explanation (all but the quiz)."""
        return tuple(s for s in self.sections if s.heading != QUIZ_SECTION)

    def full_text(self) -> str:
        """The whole explanation as Markdown, quiz excluded."""
        return "\n\n".join(f"## {s.heading}\n{s.text}" for s in self.explanation_sections)


@dataclass
class ParseResult:
    """What parsing one file produced: a note if it is usable, and every problem found."""

    note: Note | None
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, message)
    declared_id: str | None = None  # the id in the front matter, even when the note is not usable
    field_lines: dict[str, int] = field(default_factory=dict)


_YAML = frontmatter.YAMLHandler()


def _front_matter_bounds(text: str) -> tuple[int, int] | None:
    """0-based indices of the opening and closing `---` lines, or None when there is no front matter."""
    if not _YAML.detect(text):
        return None
    lines = text.split("\n")
    for i in range(1, len(lines)):
        if re.fullmatch(r"-{3,}\s*", lines[i]):
            return 0, i
    return None


def _field_lines(block: list[str], offset: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, line in enumerate(block):
        m = re.match(r"^([A-Za-z_][\w-]*)\s*:", line)
        if m and m.group(1) not in found:
            found[m.group(1)] = offset + i + 1
    return found


def _as_str_list(value: object) -> list[str] | None:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v).strip() for v in value]
    return None


def parse_quiz(section: Section, first_line: int | None = None) -> tuple[list[QuizItem], list[tuple[int, str]]]:
    """Parse the numbered multiple-choice questions of a `Check yourself` section.

    `first_line` is the file line of the section's (stripped) text; by default the line after the heading.
    """
    first_line = section.line + 1 if first_line is None else first_line
    items: list[QuizItem] = []
    problems: list[tuple[int, str]] = []
    current: dict | None = None

    def close(item: dict | None) -> None:
        if item is None:
            return
        line, n = item["line"], item["n"]
        opts = item["options"]
        ok = True
        if len(opts) != 4:
            problems.append((line, f"malformed quiz: question {n} has {len(opts)} options, expected 4"))
            ok = False
        ticked = [i for i, (tick, _) in enumerate(opts) if tick]
        if len(ticked) != 1:
            problems.append((line, f"malformed quiz: question {n} has {len(ticked)} ticked answers, expected exactly 1"))
            ok = False
        if not item["why"].strip():
            problems.append((line, f"malformed quiz: question {n} has no 'Why:' line"))
            ok = False
        if ok:
            items.append(
                QuizItem(
                    question=item["question"].strip(),
                    options=tuple(text.strip() for _, text in opts),
                    answer=ticked[0],
                    why=item["why"].strip(),
                    line=line,
                )
            )

    lines = section.text.split("\n")
    for i, raw in enumerate(lines):
        lineno = first_line + i
        if not raw.strip():
            continue
        if (m := _QUESTION.match(raw)) and not _OPTION.match(raw):
            close(current)
            current = {"n": m.group(1), "question": m.group(2), "options": [], "why": "", "line": lineno, "state": "q"}
        elif current is None:
            problems.append((lineno, "malformed quiz: text before the first numbered question"))
        elif m := _OPTION.match(raw):
            if current["state"] == "why":
                problems.append((lineno, f"malformed quiz: question {current['n']} has an option after its 'Why:' line"))
            current["options"].append((m.group(1).lower() == "x", m.group(2)))
            current["state"] = "opts"
        elif m := _WHY.match(raw):
            current["why"] = m.group(1)
            current["state"] = "why"
        elif current["state"] == "q":
            current["question"] += " " + raw.strip()
        elif current["state"] == "why":
            current["why"] += " " + raw.strip()
        else:
            problems.append((lineno, f"malformed quiz: unexpected line in question {current['n']}"))
    close(current)
    if len(items) < 2 and not problems:
        problems.append((section.line, f"malformed quiz: {len(items)} question(s), at least 2 required"))
    return items, problems


def _section_bodies(lines: list[str], sections: list[Section]) -> list[tuple[int, list[str]]]:
    """Each section's body as (line number of its first line, its raw lines), straight from the file."""
    ends = [s.line for s in sections[1:]] + [len(lines) + 1]
    return [(s.line + 1, lines[s.line:end - 1]) for s, end in zip(sections, ends)]


def _size_problems(lines: list[str], sections: list[Section], limits: NoteLimits) -> list[tuple[int, str]]:
    """Sections and paragraphs over their caps, each at its first line."""
    problems = []
    for s, (first, body) in zip(sections, _section_bodies(lines, sections)):
        size = len(s.text.encode("utf-8"))
        if size > limits.section_bytes:
            problems.append((s.line, f"section '## {s.heading}' is {size:,} bytes, over the limit of "
                                     f"{limits.section_bytes:,} (STUDYBOT_MAX_SECTION_BYTES): split the note"))
        start, size = 0, -1
        for number, line in enumerate([*body, ""], start=first):
            if line.strip():
                start, size = start or number, size + len(line.encode("utf-8")) + 1
                continue
            if size > limits.paragraph_bytes:
                problems.append((start, f"paragraph is {size:,} bytes, over the limit of {limits.paragraph_bytes:,} "
                                        "(STUDYBOT_MAX_PARAGRAPH_BYTES): break it up with blank lines"))
            start, size = 0, -1
    return problems


def note_size_problem(size: int, limits: NoteLimits) -> tuple[int, str] | None:
    """The whole note over its cap, reported at its first line."""
    if size <= limits.note_bytes:
        return None
    return (1, f"note is {size:,} bytes, over the limit of {limits.note_bytes:,} (STUDYBOT_MAX_NOTE_BYTES): "
               "split it into smaller notes")


def parse_note(text: str, path: str, limits: NoteLimits = NoteLimits()) -> ParseResult:
    """Parse a note's text. `path` is only used to fill `Note.path` and compare with the front matter."""
    result = ParseResult(note=None)
    problems = result.problems
    size = len(text.encode("utf-8"))
    if too_big := note_size_problem(size, limits):
        problems.append(too_big)
        if size > limits.unparsed_bytes:
            return result
    lines = text.split("\n")
    bounds = _front_matter_bounds(text)
    if bounds is None:
        problems.append((1, "missing YAML front matter (the file must start with a '---' line and close it with another)"))
        return result
    _, end = bounds
    block = lines[1:end]
    try:
        meta = _YAML.load("\n".join(block)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = (mark.line + 2) if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problems.append((line, f"bad YAML in front matter: {reason}"))
        return result
    if not isinstance(meta, dict):
        problems.append((2, "bad YAML in front matter: expected 'key: value' pairs"))
        return result
    result.field_lines = fl = _field_lines(block, offset=1)
    fm_line = lambda key: fl.get(key, 1)  # noqa: E731

    for key in REQUIRED_FIELDS:
        if key not in meta:
            problems.append((1, f"missing field '{key}'"))
    for key in ("id", "title", "discipline", "level", "summary"):
        if key in meta and (not isinstance(meta[key], str) or not meta[key].strip()):
            problems.append((fm_line(key), f"field '{key}' must be a non-empty string"))

    note_id = str(meta.get("id", "")).strip()
    result.declared_id = note_id or None
    if note_id and isinstance(meta.get("id"), str) and not ID_PATTERN.match(note_id):
        problems.append((fm_line("id"), f"bad id '{note_id}': use lowercase letters, digits and single hyphens"))
    discipline = str(meta.get("discipline", "")).strip()
    if discipline and discipline not in DISCIPLINES:
        problems.append((fm_line("discipline"), f"unknown discipline '{discipline}' (one of: {', '.join(DISCIPLINES)})"))
    level = str(meta.get("level", "")).strip()
    if level and level not in LEVELS:
        problems.append((fm_line("level"), f"unknown level '{level}' (one of: {', '.join(LEVELS)})"))
    aliases = _as_str_list(meta.get("aliases"))
    if aliases is None:
        problems.append((fm_line("aliases"), "field 'aliases' must be a list of strings"))
        aliases = []
    prerequisites = _as_str_list(meta.get("prerequisites"))
    if prerequisites is None:
        problems.append((fm_line("prerequisites"), "field 'prerequisites' must be a list of note ids"))
        prerequisites = []
    if len(set(prerequisites)) != len(prerequisites):
        problems.append((fm_line("prerequisites"), "a prerequisite is listed twice"))
    if note_id and note_id in prerequisites:
        problems.append((fm_line("prerequisites"), "prerequisite cycle: the note lists itself"))

    # Body: split into `##` sections, remembering each heading's line.
    sections: list[Section] = []
    heading: str | None = None
    heading_line = 0
    buf: list[str] = []
    in_fence = False

    def flush() -> None:
        if heading is not None:
            sections.append(Section(heading=heading, text="\n".join(buf).strip("\n"), line=heading_line))

    for idx in range(end + 1, len(lines)):
        raw = lines[idx]
        if raw.lstrip().startswith("```"):
            in_fence = not in_fence
        if not in_fence and raw.startswith("## "):
            flush()
            heading, heading_line, buf = raw[3:].strip(), idx + 1, []
        elif heading is not None:
            buf.append(raw)
    flush()

    problems.extend(_size_problems(lines, sections, limits))
    seen: dict[str, int] = {}
    for s in sections:
        if s.heading in seen:
            problems.append((s.line, f"duplicate section '## {s.heading}' (first at line {seen[s.heading]})"))
        seen.setdefault(s.heading, s.line)
        if not s.text.strip():
            problems.append((s.line, f"empty section '## {s.heading}'"))
    positions = []
    for slot in REQUIRED_SECTIONS:
        present = [h for h in slot if h in seen]
        if not present:
            names = " or ".join(f"'## {h}'" for h in slot)
            problems.append((end + 2 if end + 2 <= len(lines) else end + 1, f"missing section {names}"))
        else:
            positions.append((seen[present[0]], present[0]))
    if positions != sorted(positions):
        order = " → ".join(slot[0] for slot in REQUIRED_SECTIONS)
        problems.append((positions[0][0], f"sections out of order: expected {order}"))

    for idx, raw in enumerate(lines):
        if DRAFT_PLACEHOLDER in raw:
            problems.append((idx + 1, "unfilled draft placeholder: replace every '<<FILL: ...>>' with your own text"))

    quiz: list[QuizItem] = []
    quiz_section = next((s for s in sections if s.heading == QUIZ_SECTION), None)
    if quiz_section is not None and quiz_section.text.strip():
        first, body = _section_bodies(lines, sections)[sections.index(quiz_section)]
        blank_lead = next(i for i, line in enumerate(body) if line != "")  # what Section.text strips
        quiz, quiz_problems = parse_quiz(quiz_section, first + blank_lead)
        problems.extend(quiz_problems)

    if problems:
        return result
    result.note = Note(
        id=note_id,
        title=meta["title"].strip(),
        discipline=discipline,
        aliases=tuple(a for a in aliases if a),
        prerequisites=tuple(prerequisites),
        level=level,
        summary=meta["summary"].strip(),
        path=path,
        sections=tuple(sections),
        quiz=tuple(quiz),
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )
    return result


def decode_note_bytes(data: bytes) -> tuple[str, list[tuple[int, str]]]:
    """Decode UTF-8 line by line: the text (bad bytes replaced) and a problem at each line that is not UTF-8."""
    lines, problems = [], []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            lines.append(raw.decode("utf-8", errors="replace"))
            if len(problems) < MAX_UTF8_PROBLEMS:
                problems.append((number, f"not valid UTF-8 text ({exc.reason}: byte 0x{raw[exc.start]:02x} at "
                                         f"column {exc.start + 1})"))
    return "\n".join(lines), problems


MAX_UTF8_PROBLEMS = 5  # lines reported per file; a binary file would otherwise give thousands


def read_note_file(path: Path, display_path: str, limits: NoteLimits = NoteLimits()) -> ParseResult:
    """Read and parse a note file; unreadable, oversized or non-UTF-8 files become problems, not exceptions.

    A note that fails still declares its id (from its front matter, else its file name), so notes that list
    it as a prerequisite are not blamed for it.
    """
    try:
        with path.open("rb") as f:
            data = f.read(limits.unparsed_bytes + 1)
            size = path.stat().st_size
    except OSError as exc:
        return ParseResult(note=None, problems=[(1, f"cannot read file: {exc.strerror}")], declared_id=path.stem)
    if size > limits.unparsed_bytes:
        problem = note_size_problem(size, limits)
        return ParseResult(note=None, problems=[problem] if problem else [], declared_id=path.stem)
    result = parse_note_bytes(data, display_path, limits)
    return replace(result, declared_id=result.declared_id or path.stem)


def parse_note_bytes(data: bytes, display_path: str, limits: NoteLimits = NoteLimits()) -> ParseResult:
    """Decode and parse a note's bytes: lines that are not UTF-8 are problems at their own line numbers.

    Such a file never becomes a note, but its other problems are still reported (except on the bad lines
    themselves, where the replaced bytes would only cause noise).
    """
    if len(data) > limits.unparsed_bytes:
        return ParseResult(note=None, problems=[note_size_problem(len(data), limits)])
    text, utf8_problems = decode_note_bytes(data)
    result = _parse_cached(text.replace("\r\n", "\n"), display_path, limits)
    if utf8_problems:
        bad_lines = {line for line, _ in utf8_problems}
        consequences = [p for p in result.problems if p[0] not in bad_lines]
        result = replace(result, note=None, problems=sorted(utf8_problems + consequences))
    return result


@lru_cache(maxsize=8192)
def _parse_cached(text: str, display_path: str, limits: NoteLimits) -> ParseResult:
    """Parsing is pure, so a reload re-parses only the files whose text changed."""
    return parse_note(text, display_path, limits)
