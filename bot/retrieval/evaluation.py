"""Measure answer quality on a JSONL question set: hit@1, hit@3, MRR, refusal and answer rates."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.errors import InvalidInput
from bot.retrieval.answering import AnswerService
from bot.retrieval.search import MODES, Mode, NoteHit

OFF_TOPIC = "off_topic"


@dataclass(frozen=True)
class EvalItem:
    """One line of an evaluation file."""

    q: str
    expected: tuple[str, ...] = ()
    off_topic: bool = False
    line: int = 0


@dataclass
class Scores:
    """Metrics over a group of questions."""

    on_topic: int = 0
    off_topic: int = 0
    hit1: int = 0
    hit3: int = 0
    rr: float = 0.0
    answered_on: int = 0
    rejected_off: int = 0

    def add(self, item: EvalItem, rank: int | None, answered: bool) -> None:
        if item.off_topic:
            self.off_topic += 1
            self.rejected_off += not answered
            return
        self.on_topic += 1
        self.answered_on += answered
        if rank is not None:
            self.hit1 += rank == 1
            self.hit3 += rank <= 3
            self.rr += 1.0 / rank

    def as_dict(self) -> dict:
        on, off = max(self.on_topic, 1), max(self.off_topic, 1)
        return {
            "on_topic": self.on_topic,
            "off_topic": self.off_topic,
            "hit@1": round(self.hit1 / on, 4) if self.on_topic else None,
            "hit@3": round(self.hit3 / on, 4) if self.on_topic else None,
            "mrr": round(self.rr / on, 4) if self.on_topic else None,
            "answer_rate": round(self.answered_on / on, 4) if self.on_topic else None,
            "off_topic_rejection": round(self.rejected_off / off, 4) if self.off_topic else None,
        }


@dataclass
class EvalReport:
    """Results of one retriever on one question set."""

    mode: Mode
    overall: Scores = field(default_factory=Scores)
    per_discipline: dict[str, Scores] = field(default_factory=lambda: defaultdict(Scores))
    misses: list[dict] = field(default_factory=list)
    top_scores: list[tuple[bool, float, float]] = field(default_factory=list)  # (off-topic?, top cosine, coverage)

    def as_dict(self) -> dict:
        return {
            "retriever": self.mode,
            "overall": self.overall.as_dict(),
            "per_discipline": {d: s.as_dict() for d, s in sorted(self.per_discipline.items())},
            "misses": self.misses,
        }


def load_eval_file(path: Path, known_ids: set[str] | None = None) -> list[EvalItem]:
    """Read and check an evaluation JSONL file; problems are reported with their line number."""
    items, problems = [], []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInput(f"Cannot read the evaluation file '{path}': {exc.strerror}.") from exc
    for n, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{n}: not valid JSON ({exc.msg})")
            continue
        if not isinstance(row, dict) or not isinstance(row.get("q"), str) or not row["q"].strip():
            problems.append(f"{path}:{n}: each line needs a non-empty string 'q'")
            continue
        expected = row.get("expected") or []
        if isinstance(expected, str):
            expected = [expected]
        off = bool(row.get(OFF_TOPIC))
        if off == bool(expected):
            problems.append(f"{path}:{n}: give either 'expected' (note ids) or 'off_topic': true")
            continue
        unknown = [e for e in expected if known_ids is not None and e not in known_ids]
        if unknown:
            problems.append(f"{path}:{n}: unknown note id(s): {', '.join(unknown)}")
            continue
        items.append(EvalItem(row["q"].strip(), tuple(expected), off, n))
    if problems:
        raise InvalidInput("The evaluation file has problems:\n" + "\n".join(problems[:20]))
    if not items:
        raise InvalidInput(f"The evaluation file '{path}' has no questions.")
    return items


def first_hit_rank(hits: list[NoteHit], expected: tuple[str, ...]) -> int | None:
    for i, h in enumerate(hits, start=1):
        if h.note_id in expected:
            return i
    return None


def evaluate(service: AnswerService, items: list[EvalItem], modes: tuple[Mode, ...] = MODES,
             threshold: float | None = None) -> dict[Mode, EvalReport]:
    """Score each retriever on the items; all share one embedding pass and the same refusal gate."""
    state = service.state
    questions = [service.check_question(it.q[: service.settings.max_question_chars]) for it in items]
    questions = [state.retriever.read(q) for q in questions]
    vectors = service.embedder.encode(questions)
    dense = state.retriever.dense_chunks(vectors)
    notes = state.corpus.notes
    gate = threshold if threshold is not None else service.threshold
    reports = {}
    for mode in modes:
        report = EvalReport(mode)
        for item, q, v, d in zip(items, questions, vectors, dense):
            hits = state.retriever.rank(q, v, mode, d)
            top = hits[0].dense if hits else float("-inf")
            coverage = state.retriever.coverage(q)
            report.top_scores.append((item.off_topic, top, coverage))
            answered = service.is_answerable(hits, coverage, gate)
            rank = None if item.off_topic else first_hit_rank(hits, item.expected)
            discipline = OFF_TOPIC if item.off_topic else notes[item.expected[0]].discipline
            report.overall.add(item, rank, answered)
            report.per_discipline[discipline].add(item, rank, answered)
            if item.off_topic and answered:
                report.misses.append({"line": item.line, "q": item.q, "problem": "answered an off-topic question",
                                      "got": [h.note_id for h in hits[:3]], "score": round(hits[0].dense, 3)})
            elif not item.off_topic and (rank is None or rank > 3 or not answered):
                report.misses.append({"line": item.line, "q": item.q, "expected": list(item.expected),
                                      "rank": rank, "answered": answered,
                                      "got": [h.note_id for h in hits[:3]],
                                      "score": round(hits[0].dense, 3) if hits else None})
        reports[mode] = report
    return reports


def threshold_sweep(report: EvalReport, thresholds: np.ndarray | None = None) -> list[dict]:
    """Off-topic rejection and on-topic answer rate at each value of the gate's low threshold."""
    from bot.retrieval.gate import CONFIDENT_MARGIN, MIN_COVERAGE

    thresholds = np.round(np.arange(0.20, 0.61, 0.02), 2) if thresholds is None else thresholds
    off = np.array([o for o, _, _ in report.top_scores], dtype=bool)
    top = np.array([t for _, t, _ in report.top_scores])
    covered = np.array([c >= MIN_COVERAGE for _, _, c in report.top_scores])
    rows = []
    for t in thresholds:
        answered = (top >= t + CONFIDENT_MARGIN) | ((top >= t) & covered)
        rows.append({"threshold": float(t),
                     "off_topic_rejection": round(float((~answered[off]).mean()), 4) if off.any() else None,
                     "answer_rate": round(float(answered[~off].mean()), 4) if (~off).any() else None})
    return rows
