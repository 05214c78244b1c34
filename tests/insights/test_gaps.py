"""The gap report: clustering by meaning (real model), the report of one server, the anonymised report, drafts."""

from __future__ import annotations

import json
import re
import shutil
from datetime import timedelta

import numpy as np
import pytest
import pytest_asyncio

from bot.insights import GapService, cluster, draft_note
from bot.insights.draft import PLACEHOLDER
from bot.insights.formats import render
from bot.knowledge.corpus import check_corpus
from bot.knowledge.overlay import ServerNotes, check_server_note
from bot.retrieval.answering import AnswerService
from bot.study import Store
from bot.study.questions import QuestionLog
from tests.databases import BACKENDS, database
from tests.study.conftest import GUILD, NOW, OTHER_GUILD

pytestmark = pytest.mark.model

# A fixed set: paraphrases of five questions, none of which the small corpus answers.
PARAPHRASES = {
    "dropout": ["what is dropout in neural networks?", "how does dropout regularization work",
                "dropout layer, what does it do?", "can someone explain dropout"],
    "attention": ["what is the attention mechanism in transformers", "how does self-attention compute its weights",
                  "explain queries keys and values in attention"],
    "batch": ["how do I choose the batch size", "does a bigger batch size train faster",
              "what batch size should I use for my GPU"],
    "p-value": ["what is a p-value", "how do I interpret a p value in a hypothesis test",
                "p-value meaning in statistics"],
    "tokenizer": ["what does a tokenizer do", "how is text split into tokens for a language model"],
}


def test_clustering_puts_paraphrases_together_and_keeps_topics_apart(embedder):
    texts = [q for qs in PARAPHRASES.values() for q in qs]
    topic = [t for t, qs in PARAPHRASES.items() for _ in qs]
    groups = cluster(embedder.encode(texts))
    by_topic = {t: {i for i, g in enumerate(groups) for m in g if topic[m] == t} for t in PARAPHRASES}
    assert all(len(found) == 1 for found in by_topic.values()), by_topic  # each topic in one group
    assert all(len({topic[m] for m in g}) == 1 for g in groups), groups  # no group mixes topics
    assert [len(g) for g in groups] == sorted((len(g) for g in groups), reverse=True)  # largest first


def test_clustering_edge_cases():
    assert cluster(np.zeros((0, 4), np.float32)) == []
    assert cluster(np.ones((1, 4), np.float32) / 2) == [[0]]


@pytest_asyncio.fixture(loop_scope="function", params=BACKENDS)
async def world(request, tmp_path, small_settings, embedder):
    """A real answering service over the small corpus and a fresh study database (SQLite, then PostgreSQL)."""
    answers = AnswerService(small_settings, embedder=embedder)
    answers.ensure_ready()
    async with database(request.param, tmp_path) as url:
        store = await Store.open(url)
        yield answers, store, GapService(store, answers), QuestionLog(store)
        await store.close()


async def log_topics(questions: QuestionLog, guild_id: int, topics: dict[str, list[str]], user: int = 7,
                     at=NOW) -> list[int]:
    return [await questions.log(guild_id, user, q, False, None, now=at) for qs in topics.values() for q in qs]


async def test_a_report_groups_refused_and_downvoted_questions_of_one_server(world):
    answers, store, gaps, questions = world
    await log_topics(questions, GUILD, {k: PARAPHRASES[k] for k in ("dropout", "attention")})
    await log_topics(questions, OTHER_GUILD, {"batch": PARAPHRASES["batch"]})  # another server's
    await log_topics(questions, GUILD, {"p-value": PARAPHRASES["p-value"]}, at=NOW - timedelta(days=40))  # too old
    rated = []
    for q in ("why does backpropagation need the chain rule", "how does backprop use the chain rule"):
        qid = await questions.log(GUILD, 8, q, True, "chain-rule", now=NOW)
        await questions.feedback(GUILD, 8, qid, False, f"no worked example for: {q}", now=NOW)
        rated.append(qid)
    await questions.log(GUILD, 8, "what is a derivative", True, "derivatives", now=NOW)  # answered, not rated

    report = await gaps.report(GUILD, days=30, min_count=2, now=NOW)

    assert report.considered == 9 and report.smaller == 0
    sizes = [g.size for g in report.groups]
    assert sizes == [4, 3, 2]
    dropout, attention, chain = report.groups
    assert set(dropout.questions) == set(PARAPHRASES["dropout"]) and len(dropout.examples) == 3
    assert dropout.suggested_id == "dropout" and dropout.suggested_title == "Dropout" and dropout.refused == 4
    assert "attention" in attention.suggested_id
    assert chain.downvoted == 2 and chain.refused == 0 and set(chain.question_ids) == set(rated)
    assert sorted(chain.reasons) == sorted(f"no worked example for: {q}" for q in
                                           ("why does backpropagation need the chain rule",
                                            "how does backprop use the chain rule"))
    assert chain.closest[0].note_id in ("chain-rule", "backpropagation") and chain.closest[0].score > 0.4
    assert all(c.score >= d.score for c, d in zip(chain.closest, chain.closest[1:]))
    # The suggested id never takes an existing note's id; the group is found again by any of its questions.
    assert chain.suggested_id not in answers.corpus.notes
    assert report.group(rated[1]) == chain
    assert (await gaps.report(GUILD, days=30, min_count=4, now=NOW)).groups == (dropout,)


async def test_the_operators_report_spans_servers_and_holds_no_ids(world):
    answers, store, gaps, questions = world
    alice, bob = 123456789012345678, 223456789012345678
    await questions.log(GUILD, alice, f"what is dropout <@{alice}> in neural networks?", False, None, now=NOW)
    await questions.log(OTHER_GUILD, bob, f"how does dropout regularization work {bob}", False, None, now=NOW)
    report = await gaps.report(None, days=30, min_count=1, now=NOW)
    assert [g.size for g in report.groups] == [2] and report.groups[0].key == 0
    for fmt in ("md", "csv", "json"):
        text = render(report, fmt)
        for secret in (alice, bob, GUILD, OTHER_GUILD):
            assert str(secret) not in text, (fmt, secret)
    assert "guild_id" not in json.loads(render(report, "json"))


async def test_a_draft_note_passes_corpus_check_once_its_placeholders_are_filled(world, tmp_path, small_corpus):
    answers, store, gaps, questions = world
    await log_topics(questions, GUILD, {"dropout": PARAPHRASES["dropout"]})
    group = (await gaps.report(GUILD, now=NOW)).groups[0]
    filename, text = draft_note(group, 30)

    assert filename == "dropout.md" and "id: dropout" in text and 'title: "Dropout"' in text
    assert all(q in text for q in PARAPHRASES["dropout"])  # what the note must answer
    root = tmp_path / "corpus-copy"
    shutil.copytree(small_corpus, root)
    path = root / group.discipline / filename
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    unfilled = check_corpus(root).problems
    assert unfilled and all("placeholder" in p.message for p in unfilled)  # as drafted: refused

    counter = iter(range(1000))
    path.write_text(PLACEHOLDER.sub(lambda m: f"written text {next(counter)}", text), encoding="utf-8")
    report = check_corpus(root)
    assert report.problems == [] and "dropout" in report.notes
    # And the /corpus add path (validated against the server's view) accepts it too.
    note, problems = check_server_note(answers.corpus, ServerNotes(GUILD), path.read_text(), filename)
    assert problems == [] and note is not None and note.id == "dropout"


async def test_an_empty_window_gives_an_empty_report_and_bad_input_is_refused(world):
    _, _, gaps, _ = world
    report = await gaps.report(GUILD, now=NOW)
    assert report.groups == () and "Nothing to report" in render(report, "md")
    from bot.errors import InvalidInput
    with pytest.raises(InvalidInput):
        await gaps.report(GUILD, days=0, now=NOW)


def test_placeholder_marker_matches_each_fill():
    from bot.insights.draft import fill
    assert re.fullmatch(PLACEHOLDER, fill("anything at all, even (parentheses)"))
