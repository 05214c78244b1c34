"""Next topics are computed from prerequisites; paths to a topic come in a learnable order."""

from __future__ import annotations

from bot.knowledge.corpus import load_corpus
from bot.knowledge.graph import PrerequisiteGraph


def graph() -> PrerequisiteGraph:
    return PrerequisiteGraph({
        "vectors": [],
        "derivatives": [],
        "chain-rule": ["derivatives"],
        "gradient": ["derivatives", "vectors"],
        "gradient-descent": ["gradient"],
        "backprop": ["chain-rule", "gradient-descent"],
        "cnn": ["backprop"],
    })


def test_next_topics_are_the_notes_that_list_it():
    g = graph()
    assert g.next_topics("derivatives") == ["chain-rule", "gradient"]
    assert g.next_topics("cnn") == []
    assert g.prerequisites_of("backprop") == ["chain-rule", "gradient-descent"]


def test_path_to_is_topologically_ordered_and_complete():
    path = graph().path_to("backprop")
    assert set(path) == {"vectors", "derivatives", "chain-rule", "gradient", "gradient-descent", "backprop"}
    for before, after in [("derivatives", "chain-rule"), ("gradient", "gradient-descent"),
                          ("chain-rule", "backprop"), ("vectors", "gradient")]:
        assert path.index(before) < path.index(after)
    assert path[-1] == "backprop"


def test_path_to_skips_what_is_known():
    assert graph().path_to("gradient-descent", known={"vectors", "derivatives"}) == ["gradient", "gradient-descent"]


def test_cycles_are_found():
    g = PrerequisiteGraph({"a": ["c"], "b": ["a"], "c": ["b"], "d": []})
    (cycle,) = g.cycles()
    assert sorted(cycle) == ["a", "b", "c"]


def test_next_topics_in_a_loaded_corpus(small_corpus):
    corpus = load_corpus(small_corpus)
    assert corpus.graph.next_topics("chain-rule") == ["backpropagation"]
    assert corpus.graph.next_topics("derivatives") == ["bayes-theorem", "chain-rule", "gradient-descent"]
