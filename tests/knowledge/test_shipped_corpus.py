"""The shipped corpus: valid, deep enough, one connected graph, and its coverage doc is current."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.knowledge.corpus import check_corpus, load_corpus
from bot.knowledge.coverage import coverage_markdown
from bot.knowledge.notes import DISCIPLINES
from tests.conftest import REPO


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(REPO / "corpus")


def test_shipped_corpus_passes_the_check():
    report = check_corpus(REPO / "corpus")
    assert report.problems == [] and report.warnings == []


def test_at_least_thirty_notes_per_discipline(corpus):
    counts = Counter(n.discipline for n in corpus.notes.values())
    assert {d: counts[d] >= 30 for d in DISCIPLINES} == {d: True for d in DISCIPLINES}, counts


def test_every_note_has_two_quiz_questions_and_aliases(corpus):
    assert [n.id for n in corpus.notes.values() if len(n.quiz) < 2] == []
    assert [n.id for n in corpus.notes.values() if not n.aliases] == []


def test_graph_is_one_connected_whole(corpus):
    assert len(corpus.graph.components()) == 1
    assert corpus.graph.cycles() == []


def test_every_deep_learning_note_reaches_its_maths(corpus):
    maths = {"calculus", "linear_algebra", "statistics"}
    lacking = [n.id for n in corpus.notes.values() if n.discipline == "deep_learning"
               and not any(corpus.notes[a].discipline in maths for a in corpus.graph.ancestors(n.id))]
    assert lacking == []


@pytest.mark.parametrize("note, root", [
    ("convolutional-neural-networks", "primary-visual-cortex-v1"),
    ("reinforcement-learning", "operant-conditioning"),
    ("backpropagation", "chain-rule"),
    ("adam-optimizer", "gradient-descent"),
])
def test_deep_learning_roots(corpus, note, root):
    assert root in corpus.graph.ancestors(note)


def test_coverage_doc_is_current(corpus):
    assert (REPO / "docs" / "CORPUS.md").read_text() == coverage_markdown(corpus) + "\n", \
        "run: studybot corpus docs"
