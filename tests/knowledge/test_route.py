"""Learning routes: the short (essential) route, the full closure, skipping what is mastered."""

from __future__ import annotations

from pathlib import Path

from bot.knowledge import Corpus, Note, PrerequisiteGraph
from bot.knowledge.route import plan_route


def corpus_of(prerequisites: dict[str, tuple[str, ...]], disciplines: dict[str, str] | None = None) -> Corpus:
    disciplines = disciplines or {}
    notes = {nid: Note(id=nid, title=nid.upper(), discipline=disciplines.get(nid, "calculus"), aliases=(),
                       prerequisites=pre, level="core", summary="s", path=f"{nid}.md", sections=(), quiz=(),
                       content_hash=nid)
             for nid, pre in prerequisites.items()}
    return Corpus(root=Path("."), notes=notes, graph=PrerequisiteGraph(prerequisites), content_hash="x")


# a -> b -> c -> d -> t is the longest chain; e and f feed t directly, g only feeds e; h only feeds c.
GRAPH = {"a": (), "b": ("a",), "c": ("b", "h"), "d": ("c",), "e": ("g",), "f": (), "g": (), "h": (),
         "t": ("d", "e", "f")}


def test_the_short_route_is_the_longest_chain_plus_the_targets_direct_prerequisites():
    route = plan_route(corpus_of(GRAPH), "t")
    assert route.steps == ("a", "b", "c", "d", "e", "f", "t")
    assert route.needed == 8 and not route.full and route.skipped == 0


def test_the_full_route_is_every_prerequisite_in_order_with_counts_per_discipline():
    disciplines = {n: "statistics" for n in "efgh"}
    route = plan_route(corpus_of(GRAPH, disciplines), "t", full=True)
    assert set(route.steps) == set(GRAPH) and route.steps[-1] == "t" and len(route.steps) == 9
    position = {n: i for i, n in enumerate(route.steps)}
    assert all(position[p] < position[n] for n, pre in GRAPH.items() for p in pre)
    assert route.by_discipline == (("statistics", 4), ("calculus", 4))  # ties in syllabus order


def test_mastered_notes_and_what_only_they_need_are_skipped_and_counted():
    route = plan_route(corpus_of(GRAPH), "t", mastered={"c", "e"}, full=True)
    assert route.steps == ("d", "f", "t")
    assert (route.mastered_skipped, route.covered_skipped, route.needed) == (2, 4, 2)  # a, b, h, g are covered
    short = plan_route(corpus_of(GRAPH), "t", mastered={"c", "e"})
    assert short.steps == ("d", "f", "t") and short.skipped == 6


def test_a_note_without_prerequisites_is_its_own_route():
    route = plan_route(corpus_of(GRAPH), "a")
    assert route.steps == ("a",) and route.needed == 0 and route.by_discipline == ()


def test_equally_long_chains_prefer_the_same_discipline_then_the_alphabet():
    graph = {"x1": (), "y1": (), "t": ("x1", "y1"), "u": ("t",)}
    assert plan_route(corpus_of(graph), "t").steps == ("x1", "y1", "t")
    chain = corpus_of(graph, {"y1": "statistics", "t": "statistics"}).graph.critical_chain(
        "t", {"x1", "y1"}, prefer=lambda p, n: p == "y1")
    assert chain == ["y1", "t"]


def test_shipped_transformers_short_route_fits_a_page_and_ends_at_the_target():
    from bot.knowledge.corpus import load_corpus
    from tests.conftest import REPO

    corpus = load_corpus(REPO / "corpus")
    short = plan_route(corpus, "transformers")
    full = plan_route(corpus, "transformers", full=True)
    assert short.steps[-1] == full.steps[-1] == "transformers"
    assert len(short.steps) <= 25 < len(full.steps) == full.needed + 1
    assert {"attention-mechanism", "embeddings", "softmax-classifier"} <= set(short.steps)
    assert sum(n for _, n in full.by_discipline) == full.needed
