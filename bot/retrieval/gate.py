"""The refusal gate: whether the best notes answer a question at all, and which others are worth showing.

Calibrated on eval/dev.jsonl and eval/real.jsonl together (see docs/EVALUATION.md). Answered when the top
note's cosine reaches ANSWER_THRESHOLD + CONFIDENT_MARGIN, or when it reaches ANSWER_THRESHOLD and at least
MIN_COVERAGE of the question's words occur in the notes. The second signal catches everyday questions that
share one technical word with a note ("the gradient of my driveway").
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.retrieval.search import NoteHit

ANSWER_THRESHOLD = 0.35
CONFIDENT_MARGIN = 0.10
MIN_COVERAGE = 0.75
# Secondary notes are shown only when they are nearly as relevant as the best one.
SECONDARY_MARGIN = 0.12


def is_answerable(hits: Sequence[NoteHit], coverage: float, threshold: float = ANSWER_THRESHOLD) -> bool:
    """The calibrated decision from two signals: the top note's cosine and the question's word coverage."""
    if not hits or hits[0].dense < threshold:
        return False
    return hits[0].dense >= threshold + CONFIDENT_MARGIN or coverage >= MIN_COVERAGE


def shown_hits(hits: Sequence[NoteHit], threshold: float = ANSWER_THRESHOLD) -> list[NoteHit]:
    """The best hit, then the others whose cosine is above the threshold and within SECONDARY_MARGIN of it."""
    if not hits:
        return []
    floor = max(threshold, hits[0].dense - SECONDARY_MARGIN)
    return [hits[0]] + [h for h in hits[1:] if h.dense >= floor]


__all__ = ["ANSWER_THRESHOLD", "CONFIDENT_MARGIN", "MIN_COVERAGE", "SECONDARY_MARGIN", "is_answerable",
           "shown_hits"]
