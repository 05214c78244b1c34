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


def test_membership_components_chains_and_cycles():
    g = graph()
    assert "cnn" in g and "poetry" not in g and len(g) == 7
    assert g.longest_chain() == 5  # derivatives -> gradient -> gradient-descent -> backprop -> cnn
    assert PrerequisiteGraph({}).longest_chain() == 0 and PrerequisiteGraph({"a": []}).longest_chain() == 1
    islands = PrerequisiteGraph({"z": [], "y": ["z"], "b": [], "a": [], "c": ["a"], "d": ["c"]})
    assert islands.components() == [{"a", "c", "d"}, {"y", "z"}, {"b"}]  # largest first, then by first name
    assert g.cycles() == []
    looped = PrerequisiteGraph({"a": ["c"], "b": ["a"], "c": ["b"], "d": ["e"], "e": ["d"], "f": ["f"]})
    assert sorted(sorted(c) for c in looped.cycles()) == [["a", "b", "c"], ["d", "e"]]


def test_in_order_breaks_ties_by_the_given_key():
    g = graph()
    notes = ["vectors", "derivatives", "chain-rule", "gradient"]
    assert g.in_order(notes) == ["derivatives", "chain-rule", "vectors", "gradient"]
    assert g.in_order(notes, key=lambda n: -len(n)) == ["derivatives", "chain-rule", "vectors", "gradient"]
    assert g.in_order(notes, key=lambda n: (n != "vectors", n)) == ["vectors", "derivatives", "chain-rule",
                                                                     "gradient"]


def test_the_critical_chain_is_the_longest_one():
    g = PrerequisiteGraph({"a": [], "b": ["a"], "c": ["b"], "x": [], "t": ["c", "x"]})
    assert g.critical_chain("t", ["a", "b", "c", "x"]) == ["a", "b", "c", "t"]
    assert g.critical_chain("t", ["x"]) == ["x", "t"] and g.critical_chain("t", []) == ["t"]
    short = PrerequisiteGraph({"a": [], "b": ["a"], "m": [], "n": ["m"], "o": ["n"], "t": ["b", "o"]})
    assert short.critical_chain("t", ["a", "b", "m", "n", "o"]) == ["m", "n", "o", "t"]
