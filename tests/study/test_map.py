"""The study map: the learner's neighbourhood, one discipline, the overview; readable at 50% scale."""

from __future__ import annotations

import io
import random
import time
from itertools import combinations
from pathlib import Path

import pytest
from PIL import Image

from bot.errors import InvalidInput
from bot.knowledge import DISCIPLINES, Corpus, Note, PrerequisiteGraph
from bot.study.map import ALL, MINE, layers, map_nodes, neighbourhood, render_map
from bot.study.map_draw import MIN_PX_AT_HALF
from tests.study.conftest import GUILD, NOW, right_choice

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def image_of(data: bytes) -> Image.Image:
    assert data[:8] == PNG_SIGNATURE
    return Image.open(io.BytesIO(data))


def assert_readable_at_half_scale(corpus: Corpus, image) -> None:
    """Every label whole (no ellipsis, the full title), big enough at 50%, inside the image, no overlaps."""
    width, height = image.size
    half = image_of(image.png).reduce(2)
    assert half.size == ((width + 1) // 2, (height + 1) // 2)
    for label in image.labels:
        assert label.font_px * 0.5 >= MIN_PX_AT_HALF, label
        assert "…" not in label.text
        if label.key in corpus.notes:
            assert label.text.replace("-\n", "").replace("\n", " ") == corpus.notes[label.key].title
        x0, y0, x1, y1 = label.box
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    boxes = {label.box for label in image.labels}  # a box may carry several labels (a name and its figures)
    for ra, rb in combinations(sorted(boxes), 2):
        assert ra[2] <= rb[0] or rb[2] <= ra[0] or ra[3] <= rb[1] or rb[3] <= ra[1], (ra, rb)


def test_every_shipped_map_is_readable_at_half_scale():
    from bot.knowledge.corpus import load_corpus
    from tests.conftest import REPO

    corpus = load_corpus(REPO / "corpus")
    studied = ["transformers", "attention-mechanism", "dot-product", "derivatives", "chain-rule"]
    mastered = {"dot-product", "derivatives"}
    for scope in (MINE, ALL, *sorted({n.discipline for n in corpus.notes.values()})):
        image = render_map(corpus, mastered, set(studied), scope, recent=studied,
                           suggestions=["gradient", "matrix-multiplication"])
        assert image.labels, scope
        assert_readable_at_half_scale(corpus, image)
        assert max(image.size) <= 4000, (scope, image.size)  # grows with the map, within reason


def test_the_overview_has_one_row_per_discipline_foundations_first(study_corpus):
    image = render_map(study_corpus, mastered={"derivatives"}, studied={"derivatives", "chain-rule"}, scope=ALL)
    names = [label.text for label in image.labels if not label.key.endswith(":stats")]
    present = {n.discipline for n in study_corpus.notes.values()}
    assert len(names) == len(present) and names[-1] == "Deep learning"  # it builds on calculus
    stats = {label.key: label.text for label in image.labels if label.key.endswith(":stats")}
    calculus = sum(n.discipline == "calculus" for n in study_corpus.notes.values())
    assert stats["calculus:stats"] == f"1 of {calculus} mastered · 1 started"
    assert image.title == f"All topics by discipline: 1 of {len(study_corpus.notes)} mastered"


def test_one_discipline_shows_the_prerequisites_reaching_into_it(study_corpus):
    inside, outside = map_nodes(study_corpus, "deep_learning")
    assert inside == {"backpropagation"} and outside == {"chain-rule", "gradient-descent"}
    image = render_map(study_corpus, scope="deep_learning")
    assert {label.key for label in image.labels} == inside | outside
    empty = render_map(study_corpus, scope="biology")
    assert empty.labels == () and image_of(empty.png).size == empty.size  # still an image


def test_the_neighbourhood_is_what_you_studied_and_what_comes_next(study_corpus):
    seen, nxt = neighbourhood(study_corpus, {"derivatives"}, ["chain-rule", "derivatives"],
                              ["backpropagation", "derivatives", "no-such-note"])
    assert seen == ["chain-rule", "derivatives"] and nxt == ["backpropagation"]
    image = render_map(study_corpus, {"derivatives"}, {"chain-rule", "derivatives"}, MINE,
                       recent=seen, suggestions=nxt)
    assert {label.key for label in image.labels} == {"chain-rule", "derivatives", "backpropagation"}
    assert image.title == "Your study map: 1 mastered, 1 started, 1 to study next"
    start = render_map(study_corpus, scope=MINE, suggestions=["derivatives"])
    assert start.title == "Your study map: where to start" and [x.key for x in start.labels] == ["derivatives"]


def test_layers_follow_prerequisite_depth(study_corpus):
    column = layers(study_corpus.graph.nx)
    assert column["derivatives"] == 0 and column["chain-rule"] == 1 and column["backpropagation"] == 2


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
    render_map(corpus, mastered, scope="calculus")  # warm up fonts
    for scope in (ALL, "calculus", MINE):
        start = time.perf_counter()
        image = render_map(corpus, mastered, mastered, scope, recent=sorted(mastered))
        assert time.perf_counter() - start < 2.0, scope
        assert_readable_at_half_scale(corpus, image)


async def test_the_service_colours_the_learners_mastered_topics(service, study_corpus):
    run = await service.quizzes.start(GUILD, 7, "derivatives", 2, seed=0, now=NOW)
    for q in run.questions:
        await service.quizzes.answer(GUILD, run.id, 7, q.position, right_choice(study_corpus, q.note_id, q.item_index),
                                     NOW)
    mine = await service.progress.map_png(GUILD, 7)
    assert image_of(mine) and mine != (await service.progress.map_png(GUILD, 8))  # 8 studied nothing
    assert image_of(await service.progress.map_png(GUILD, 7, "calculus"))
    assert image_of(await service.progress.map_png(GUILD, 7, "all"))
    with pytest.raises(InvalidInput):
        await service.progress.map_png(GUILD, 7, "astrology")


async def test_the_service_renders_off_the_event_loop(service, monkeypatch):
    import threading

    import bot.study.map as map_module

    threads = []
    real = map_module.render_map

    def spy(*args, **kwargs):
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(map_module, "render_map", spy)
    await service.progress.map_png(GUILD, 7)
    assert threads and threads[0] != threading.get_ident()


def fill_of(png: bytes, box: tuple[int, int, int, int]) -> str:
    """The colour that fills most of a node's box (its text and outline are a small part of it)."""
    x0, y0, x1, y1 = box
    inner = image_of(png).convert("RGB").crop((x0 + 6, y0 + 6, x1 - 6, y1 - 6))
    _, (r, g, b) = max(inner.getcolors(maxcolors=1 << 16))
    return f"#{r:02x}{g:02x}{b:02x}"


def node_fills(image) -> dict[str, str]:
    return {label.key: fill_of(image.png, label.box) for label in image.labels}


@pytest.mark.parametrize("scope", [MINE, "calculus"])
def test_the_map_colours_each_note_by_what_the_learner_did(study_corpus, scope):
    from bot.study.map_draw import STYLES

    image = render_map(study_corpus, mastered={"derivatives"}, studied={"derivatives", "chain-rule"}, scope=scope,
                       recent=["chain-rule", "derivatives"], suggestions=["gradient-descent"])
    fills = node_fills(image)
    assert fills["derivatives"] == STYLES["mastered"][0]
    assert fills["chain-rule"] == STYLES["studied"][0]
    assert fills["gradient-descent"] == STYLES["next" if scope == MINE else "new"][0]


def test_the_overview_colours_a_fully_mastered_discipline(study_corpus):
    from bot.study.map_draw import STYLES

    statistics = {n.id for n in study_corpus.notes.values() if n.discipline == "statistics"}
    image = render_map(study_corpus, mastered=statistics | {"derivatives"}, studied={"derivatives"}, scope=ALL)
    fills = {k: v for k, v in node_fills(image).items() if not k.endswith(":stats")}
    assert fills["statistics"] == STYLES["mastered"][0]
    assert fills["calculus"] == STYLES["studied"][0] and fills["deep_learning"] == STYLES["new"][0]


async def test_the_service_map_shows_mastered_topics_in_the_mastered_colour(service, study_corpus, monkeypatch):
    """Through the service: quiz answers → mastery → the mastered colour in the PNG sent to Discord."""
    import bot.study.map as map_module
    from bot.study.map_draw import STYLES

    drawn = []
    real = map_module.render_map
    monkeypatch.setattr(map_module, "render_map", lambda *a, **k: drawn.append(real(*a, **k)) or drawn[-1])
    run = await service.quizzes.start(GUILD, 7, "derivatives", 2, seed=0, now=NOW)
    for q in run.questions:
        await service.quizzes.answer(GUILD, run.id, 7, q.position, right_choice(study_corpus, q.note_id, q.item_index),
                                     NOW)
    png = await service.progress.map_png(GUILD, 7)
    (image,) = drawn
    assert image.png == png
    assert node_fills(image)["derivatives"] == STYLES["mastered"][0]
