"""Answers: the right note first, next topics from the graph, and a refusal when nothing fits."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bot.errors import InvalidInput
from bot.knowledge.corpus import load_corpus
from bot.retrieval.answering import AnswerService, topics_after


@pytest.fixture
def service(small_settings, embedder) -> AnswerService:
    s = AnswerService(small_settings, embedder=embedder)
    s.ensure_ready()
    return s


def test_answers_with_the_matching_note_first(service):
    answer = service.answer("How does backprop compute the gradient for every weight?")
    assert answer.answered
    assert answer.best.id == "backpropagation"
    assert answer.best.path.endswith("deep_learning/backpropagation.md")
    assert answer.best.text and answer.best.score > 0.4


def test_off_topic_question_is_refused_with_closest_topics(service):
    answer = service.answer("what temperature should I grill a steak at?")
    assert not answer.answered
    assert answer.results == ()
    assert 1 <= len(answer.closest) <= 3


def test_next_topics_build_on_the_best_match(service):
    answer = service.answer("what does the chain rule say about nested functions?")
    assert answer.best.id == "chain-rule"
    kinds = {t.id: t.kind for t in answer.next_topics}
    assert kinds.get("backpropagation") == "next"
    assert kinds.get("derivatives") == "prerequisite"
    assert all(t.reason for t in answer.next_topics)


def test_topics_after_a_note_skip_known_and_prefers_ready_topics(small_corpus):
    corpus = load_corpus(small_corpus)
    derivatives = corpus.notes["derivatives"]
    topics = topics_after(corpus, derivatives)
    assert {t.id for t in topics if t.kind == "next"} == {"bayes-theorem", "chain-rule", "gradient-descent"}
    known = topics_after(corpus, derivatives, known=frozenset({"chain-rule"}))
    assert "chain-rule" not in [t.id for t in known]


def test_empty_and_overlong_questions_are_clear_errors(service):
    with pytest.raises(InvalidInput, match="Ask me a question"):
        service.answer("   ")
    with pytest.raises(InvalidInput, match="under 4000 characters"):
        service.answer("why " * 1100)


def test_answer_many_matches_single_answers(service):
    questions = ["what is Bayes rule?", "how does gradient descent step?"]
    batch = service.answer_many(questions)
    assert [a.best.id for a in batch] == [service.answer(q).best.id for q in questions]
    assert [a.best.id for a in batch] == ["bayes-theorem", "gradient-descent"]


def test_cli_json_shape(small_settings, embedder, monkeypatch):
    from bot import cli

    monkeypatch.setattr(cli, "_settings", lambda: small_settings)
    monkeypatch.setattr("bot.retrieval.answering.Embedder", lambda *a, **k: embedder)
    result = CliRunner().invoke(cli.app, ["ask", "--json", "what is the chain rule?"])
    assert result.exit_code == 0, result.output
    line = [ln for ln in result.stdout.splitlines() if ln.startswith("{")][0]
    data = json.loads(line)
    assert set(data) == {"question", "answered", "results", "next_topics"}
    assert data["answered"] is True
    assert set(data["results"][0]) == {"id", "title", "discipline", "score", "text", "path"}
    assert data["results"][0]["id"] == "chain-rule"
    assert all(set(t) == {"id", "title", "discipline", "reason"} for t in data["next_topics"])


def test_cli_json_reads_questions_from_stdin(small_settings, embedder, monkeypatch):
    from bot import cli

    monkeypatch.setattr(cli, "_settings", lambda: small_settings)
    monkeypatch.setattr("bot.retrieval.answering.make_embedder", lambda settings: embedder)
    stdin = "what is the chain rule?\n\nhow do I grill a steak?\n" + "x" * 5000 + "\n"
    result = CliRunner().invoke(cli.app, ["ask", "--json", "-"], input=stdin)
    assert result.exit_code == 0, result.output
    rows = [json.loads(ln) for ln in result.stdout.splitlines()]
    assert [r["answered"] for r in rows] == [True, False, False, False]  # the blank line gets its own row
    assert [("error" in r) for r in rows] == [False, True, False, True]
    assert "characters" in rows[3]["error"]


@pytest.mark.model
@pytest.mark.parametrize(
    "question, acceptable",
    [
        ("why do we need the chain rule in backpropagation?", {"chain-rule", "backpropagation"}),
        ("adam vs sgd, which optimizer should I use?", {"adam-optimizer", "stochastic-gradient-descent"}),
        ("how does the visual cortex relate to convolutional networks?",
         {"primary-visual-cortex-v1", "convolutional-neural-networks", "hubel-and-wiesel", "neocognitron"}),
        ("what is a fuzzy set?", {"fuzzy-sets"}),
        ("how do I update my belief with Bayes' theorem?", {"bayes-theorem", "bayesian-inference"}),
        ("what's the big-O of binary search?", {"binary-search", "big-o-notation"}),
        ("what did Skinner's experiments with rats show?", {"operant-conditioning", "reinforcement-and-punishment"}),
        ("how do eigenvectors work?", {"eigenvalues-and-eigenvectors"}),
    ],
)
def test_shipped_corpus_answers_with_the_right_note_first(shipped_service, question, acceptable):
    answer = shipped_service.answer(question)
    assert answer.answered, question
    assert answer.best.id in acceptable, (question, [r.id for r in answer.results])


@pytest.mark.model
@pytest.mark.parametrize("question", ["what temperature should I grill a steak at?",
                                      "who won the football match last night?"])
def test_shipped_corpus_refuses_off_topic(shipped_service, question):
    assert not shipped_service.answer(question).answered
