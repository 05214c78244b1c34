"""The refusal gate at its boundaries: two signals, the cosine of the best note and the question's coverage."""

from __future__ import annotations

import pytest

from bot.retrieval.gate import ANSWER_THRESHOLD, CONFIDENT_MARGIN, MIN_COVERAGE, SECONDARY_MARGIN, is_answerable, \
    shown_hits
from bot.retrieval.search import NoteHit


def hits(*cosines: float) -> list[NoteHit]:
    return [NoteHit(f"n{i}", c, c, 0.0, 0) for i, c in enumerate(cosines)]


def test_the_calibrated_constants():
    """Changing them is a calibration (docs/EVALUATION.md), never a side effect."""
    assert (ANSWER_THRESHOLD, CONFIDENT_MARGIN, MIN_COVERAGE, SECONDARY_MARGIN) == (0.35, 0.10, 0.75, 0.12)


def test_nothing_found_is_refused():
    assert not is_answerable([], coverage=1.0)


@pytest.mark.parametrize("cosine, coverage, answered", [
    (0.34, 1.0, False),   # below the threshold: refused whatever the words
    (0.35, 0.75, True),   # at the threshold with enough of the words known
    (0.35, 0.74, False),  # at the threshold, too few words known
    (0.44, 0.0, False),   # under the confident margin, no words known
    (0.45, 0.0, True),    # confident: the words do not matter
    (0.90, 0.0, True),
])
def test_the_gate_at_its_boundaries(cosine, coverage, answered):
    assert is_answerable(hits(cosine, 0.1), coverage) is answered


def test_the_gate_reads_the_best_notes_cosine_not_its_fused_score():
    fused_high = [NoteHit("n", 2.0, 0.2, 1.0, 0)]
    assert not is_answerable(fused_high, coverage=1.0)


def test_a_custom_threshold_moves_both_bounds():
    assert not is_answerable(hits(0.5), 1.0, threshold=0.51)
    assert is_answerable(hits(0.5), 0.75, threshold=0.5) and not is_answerable(hits(0.5), 0.7, threshold=0.5)
    assert is_answerable(hits(0.6), 0.0, threshold=0.5) and not is_answerable(hits(0.59), 0.0, threshold=0.5)


def test_secondary_notes_are_shown_when_nearly_as_relevant_and_above_the_threshold():
    assert [h.note_id for h in shown_hits(hits(0.70, 0.58, 0.57, 0.2))] == ["n0", "n1"]
    assert [h.note_id for h in shown_hits(hits(0.40, 0.36, 0.34))] == ["n0", "n1"]  # the threshold, not the margin
    assert [h.note_id for h in shown_hits(hits(0.40, 0.36, 0.34), threshold=0.37)] == ["n0"]
    assert [h.note_id for h in shown_hits(hits(0.30, 0.29))] == ["n0"]  # the best is always shown
    assert shown_hits([]) == []
