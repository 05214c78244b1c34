"""The evaluation: file checking, metric arithmetic, and a smoke slice of the dev set on the shipped corpus."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInput
from bot.retrieval.evaluation import EvalItem, Scores, evaluate, load_eval_file
from tests.conftest import REPO


def test_metrics_arithmetic():
    s = Scores()
    s.add(EvalItem("a", ("x",)), rank=1, answered=True)
    s.add(EvalItem("b", ("y",)), rank=2, answered=True)
    s.add(EvalItem("c", ("z",)), rank=None, answered=False)
    s.add(EvalItem("d", off_topic=True), rank=None, answered=False)
    d = s.as_dict()
    assert d["hit@1"] == pytest.approx(1 / 3, abs=1e-4) and d["hit@3"] == pytest.approx(2 / 3, abs=1e-4)
    assert d["mrr"] == pytest.approx((1 + 0.5) / 3, abs=1e-4)
    assert d["answer_rate"] == pytest.approx(2 / 3, abs=1e-4) and d["off_topic_rejection"] == 1.0


def test_bad_eval_lines_are_reported_with_line_numbers(tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text('{"q": "ok", "expected": ["chain-rule"]}\nnot json\n{"q": "x"}\n{"q": "y", "expected": ["ghost"]}\n')
    with pytest.raises(InvalidInput) as info:
        load_eval_file(f, {"chain-rule"})
    text = str(info.value)
    assert "bad.jsonl:2: not valid JSON" in text
    assert "bad.jsonl:3: give either" in text
    assert "bad.jsonl:4: unknown note id(s): ghost" in text


def test_dev_set_is_well_formed_and_references_real_notes(shipped_service):
    items = load_eval_file(REPO / "eval" / "dev.jsonl", set(shipped_service.corpus.notes))
    assert len(items) >= 200
    off = sum(it.off_topic for it in items)
    assert 0.05 <= off / len(items) <= 0.15


@pytest.mark.model
def test_smoke_slice_meets_the_quality_bar(shipped_service):
    """CI runs the shipped retriever on a slice of the dev set, so quality cannot silently break."""
    items = load_eval_file(REPO / "eval" / "smoke.jsonl", set(shipped_service.corpus.notes))
    reports = evaluate(shipped_service, items)
    hybrid = reports["hybrid"].overall.as_dict()
    assert hybrid["hit@3"] >= 0.9, reports["hybrid"].misses
    assert hybrid["off_topic_rejection"] >= 0.8
    assert hybrid["answer_rate"] >= 0.9
    assert hybrid["hit@3"] >= reports["bm25"].overall.as_dict()["hit@3"]


@pytest.mark.model
def test_real_question_slice_meets_the_quality_bar(shipped_service):
    """A random slice of the real learners' posts (eval/real.jsonl): long posts, code, typos, off-topic."""
    items = load_eval_file(REPO / "eval" / "smoke_real.jsonl", set(shipped_service.corpus.notes))
    reports = evaluate(shipped_service, items, ("hybrid", "dense"))
    hybrid = reports["hybrid"].overall.as_dict()
    assert hybrid["hit@1"] >= 0.85, reports["hybrid"].misses
    assert hybrid["hit@3"] >= 0.93, reports["hybrid"].misses
    assert hybrid["answer_rate"] >= 0.95
    assert hybrid["off_topic_rejection"] >= 0.85
    assert hybrid["hit@1"] >= reports["dense"].overall.as_dict()["hit@1"]
