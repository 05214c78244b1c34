"""The prerequisite map: a PNG of the expected size, fast enough for ~300 notes."""

from __future__ import annotations

import random
import struct
import time
from pathlib import Path

import pytest

from bot.errors import InvalidInput
from bot.knowledge import DISCIPLINES, Corpus, Note, PrerequisiteGraph
from bot.study.map import layered_positions, map_nodes, render_map, short_title
from tests.study.conftest import GUILD, NOW, right_choice

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_renders_a_png_of_the_requested_size(study_corpus):
    png = render_map(study_corpus, mastered={"derivatives"}, studied={"chain-rule"})
    assert png_size(png) == (1600, 1000)
    assert png_size(render_map(study_corpus, size=(800, 500))) == (800, 500)


def test_one_discipline_shows_the_prerequisites_reaching_into_it(study_corpus):
    inside, outside = map_nodes(study_corpus, "deep_learning")
    assert inside == {"backpropagation"} and outside == {"chain-rule", "gradient-descent"}
    assert png_size(render_map(study_corpus, discipline="deep_learning")) == (1600, 1000)
    assert png_size(render_map(study_corpus, discipline="biology")) == (1600, 1000)  # empty: still an image


def test_layers_follow_prerequisite_depth(study_corpus):
    pos, columns, rows = layered_positions(study_corpus.graph.nx)
    assert columns == 3 and rows == 3
    assert pos["derivatives"][0] == 0 and pos["chain-rule"][0] == 1 and pos["backpropagation"][0] == 2


def test_short_titles():
    assert short_title("The chain rule") == "Chain rule"
    assert short_title("Bayesian inference: priors, posteriors and predictive distributions") == "Bayesian inference"
    assert short_title("Markov chain Monte Carlo (MCMC)") == "Markov chain Monte Carlo"


def synthetic_corpus(size: int, seed: int = 0) -> Corpus:
    """`size` notes in a random layered DAG (up to 3 prerequisites each), across every discipline."""
    rng = random.Random(seed)
    notes: dict[str, Note] = {}
    ids = [f"topic-{i:03d}" for i in range(size)]
    for i, nid in enumerate(ids):
        prereqs = tuple(sorted(set(rng.sample(ids[max(0, i - 40):i], k=min(i, rng.randint(0, 3)))))) if i else ()
        notes[nid] = Note(id=nid, title=f"The {rng.choice(['gradient', 'matrix', 'entropy', 'neuron'])} topic "
                                         f"number {i}: details", discipline=DISCIPLINES[i % len(DISCIPLINES)],
                          aliases=(), prerequisites=prereqs, level="core", summary="s", path=f"{nid}.md",
                          sections=(), quiz=(), content_hash=nid)
    return Corpus(root=Path("."), notes=notes, graph=PrerequisiteGraph({n: v.prerequisites for n, v in notes.items()}),
                  content_hash="x")


def test_three_hundred_notes_render_in_well_under_two_seconds():
    corpus = synthetic_corpus(300)
    mastered = set(list(corpus.notes)[::4])
    render_map(corpus, mastered, discipline="calculus")  # warm up fonts
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        png = render_map(corpus, mastered)
        best = min(best, time.perf_counter() - start)
    assert png_size(png) == (1600, 1000)
    assert best < 2.0, f"rendering 300 notes took {best:.2f}s"


async def test_the_service_colours_the_learners_mastered_topics(service, study_corpus):
    run = await service.quizzes.start(GUILD, 7, "derivatives", 2, seed=0, now=NOW)
    for q in run.questions:
        await service.quizzes.answer(GUILD, run.id, 7, q.position, right_choice(study_corpus, q.note_id, q.item_index),
                                     NOW)
    png = await service.progress.map_png(GUILD, 7)
    assert png_size(png) == (1600, 1000)
    assert png != render_map(study_corpus)  # the mastered node is coloured
    with pytest.raises(InvalidInput):
        await service.progress.map_png(GUILD, 7, discipline="astrology")
