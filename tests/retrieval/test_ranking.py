"""`Retriever.rank` and `fuse` on hand-made vectors: no model, so every score is known in advance.

Each chunk has its own axis of the vector space, so a question's cosine to a chunk is simply the component of
the question vector on that axis: a test chooses every dense score, and the words of the question choose the
BM25 scores.
"""

from __future__ import annotations

import numpy as np
import pytest

from bot.retrieval.chunking import OVERVIEW, Chunk
from bot.retrieval.search import LEXICAL_WEIGHT, PASSAGE_NOTES, Retriever, fuse, lexical_tokens
from bot.retrieval.tenancy import _in_memory

DIM = 32
# (note id, heading, text): the chunks, in chunk-id order.
CHUNKS = [
    ("zebra", OVERVIEW, "striped horses of the savanna"),
    ("zebra", "Intuition", "a zebra crossing is painted with wide white stripes"),
    ("zebra", "Example", "herds migrate across the plains every year"),
    ("kernel", OVERVIEW, "the kernel trick"),
    ("kernel", "Intuition", "inner products in a feature space computed without visiting it"),
    ("margin", OVERVIEW, "maximum margin classifiers"),
    ("margin", "Intuition", "the widest street between two classes"),
    ("quasar", OVERVIEW, "bright galactic nuclei"),
]


def chunk(note_id: str, heading: str, text: str) -> Chunk:
    return Chunk(note_id, note_id.title(), "statistics", heading, text, f"{note_id}.md", embed_text=text,
                 lexical_text=f"{note_id} {text}")


def axis_of(note_id: str, heading: str = OVERVIEW) -> int:
    return next(i for i, (n, h, _) in enumerate(CHUNKS) if n == note_id and h == heading)


def vector(**cosines: float) -> np.ndarray:
    """A unit question vector with the given cosine to each named note's overview (the rest on a spare axis)."""
    v = np.zeros(DIM, dtype=np.float32)
    for key, cos in cosines.items():
        note, _, heading = key.partition("__")
        v[axis_of(note, heading or OVERVIEW)] = cos
    v[DIM - 1] = np.sqrt(max(0.0, 1.0 - float(v @ v)))
    return v


@pytest.fixture  # per test (it takes milliseconds), so mutation testing sees every test use the constructor
def retriever() -> Retriever:
    chunks = [chunk(*c) for c in CHUNKS]
    vectors = np.eye(len(chunks), DIM, dtype=np.float32)
    return Retriever(_in_memory(chunks, vectors, "test-model"))


def first(retriever: Retriever, question: str, v: np.ndarray, mode: str = "hybrid") -> str:
    return retriever.rank(question, v, mode)[0].note_id


def test_a_question_only_bm25_can_find(retriever):
    """The words name the zebra note; the meaning points a little towards another note."""
    v = vector(kernel=0.15, margin=0.1)  # zebra's cosine is 0: 0 + 0.2 * 1 beats 0.15
    assert first(retriever, "zebra stripes", v, "dense") == "kernel"
    assert first(retriever, "zebra stripes", v, "bm25") == "zebra"
    assert first(retriever, "zebra stripes", v, "hybrid") == "zebra"


def test_a_question_only_dense_can_find(retriever):
    """No word of the question is in any note; the meaning points at the margin note."""
    v = vector(margin=0.8, kernel=0.2)
    assert retriever.rank("xylophone wombat", v, "bm25") == []
    assert first(retriever, "xylophone wombat", v, "hybrid") == "margin"


def test_fusion_adds_a_share_of_the_normalised_bm25_score_to_the_best_cosine(retriever):
    v = vector(kernel=0.6, zebra=0.45)
    hits = retriever.rank("zebra stripes", v, "hybrid")
    by_id = {h.note_id: h for h in hits}
    assert by_id["zebra"].lexical == pytest.approx(1.0)  # the best BM25 note is 1 after normalising
    for h in hits:
        assert h.score == pytest.approx(h.dense + LEXICAL_WEIGHT * h.lexical, abs=1e-6)
    assert by_id["zebra"].dense == pytest.approx(0.45) and by_id["kernel"].dense == pytest.approx(0.6)
    # 0.45 + 0.2 > 0.6: the words tip the balance; with a stronger cosine elsewhere they do not.
    assert [h.note_id for h in hits[:2]] == ["zebra", "kernel"]
    assert first(retriever, "zebra stripes", vector(kernel=0.7, zebra=0.45)) == "kernel"


def test_dense_scores_are_the_best_chunk_cosine_of_each_note(retriever):
    v = vector(zebra=0.2, zebra__Example=0.5, margin__Intuition=0.4)
    hits = {h.note_id: h for h in retriever.rank("nothing matches", v, "dense")}
    assert hits["zebra"].dense == pytest.approx(0.5) and hits["margin"].dense == pytest.approx(0.4)
    assert [h.note_id for h in retriever.rank("nothing matches", v, "dense")][:2] == ["zebra", "margin"]
    assert all(h.score == h.dense for h in hits.values())


def test_a_note_found_only_by_words_gets_the_lowest_dense_candidate_score(retriever):
    scores = retriever.scores("quasar", vector(kernel=0.5), "hybrid", dense_hits=[])
    assert scores.floor == 0.0 and scores.note_lex == {"quasar": 1.0}
    from bot.retrieval.search import ChunkHit

    hits = [ChunkHit(axis_of("kernel"), 0.5), ChunkHit(axis_of("margin"), 0.3)]
    ranked = retriever.rank("quasar", vector(kernel=0.5, margin=0.3), "hybrid", dense_hits=hits)
    quasar = next(h for h in ranked if h.note_id == "quasar")
    assert quasar.dense == pytest.approx(0.3) and quasar.score == pytest.approx(0.3 + LEXICAL_WEIGHT)


def test_bm25_mode_ranks_by_words_alone(retriever):
    hits = retriever.rank("white stripes zebra crossing", vector(margin=0.9), "bm25")
    assert [h.note_id for h in hits] == ["zebra"]
    assert hits[0].score == pytest.approx(1.0) and hits[0].lexical == pytest.approx(1.0)


def test_ties_are_broken_by_cosine_then_by_note_id(retriever):
    v = vector(kernel=0.4, margin=0.4)
    ids = [h.note_id for h in retriever.rank("nothing here", v, "hybrid")]
    assert ids[:2] == ["kernel", "margin"]


def test_the_passage_is_the_best_matching_explanation_not_the_overview(retriever):
    v = vector(zebra=0.9, zebra__Example=0.2)
    top = retriever.rank("white stripes", v)[0]
    assert top.note_id == "zebra"
    assert top.passage_chunk == axis_of("zebra", "Intuition")  # the words decide between explanations
    top = retriever.rank("migrate plains", vector(zebra__Intuition=0.2, zebra__Example=0.25))[0]
    assert top.passage_chunk == axis_of("zebra", "Example")


def test_only_the_top_notes_get_their_best_passage_picked():
    """Beyond PASSAGE_NOTES, a note shows its first explanation (cheaper; never shown in full)."""
    rows = [(f"n{i:02d}", h, f"{h} words {i}") for i in range(PASSAGE_NOTES + 2) for h in (OVERVIEW, "A", "B")]
    chunks = [chunk(*r) for r in rows]
    r = Retriever(_in_memory(chunks, np.eye(len(chunks), dtype=np.float32), "m"))
    v = np.zeros(len(chunks), dtype=np.float32)
    for i in range(PASSAGE_NOTES + 2):
        v[3 * i + 2] = 0.25 - 0.01 * i  # every note's "B" explanation is its best match
    v /= np.linalg.norm(v)
    hits = r.rank("zzz", v, "dense")
    assert [h.passage_chunk for h in hits] == [3 * i + (2 if i < PASSAGE_NOTES else 1) for i in range(len(hits))]


def test_excluded_notes_are_left_out_of_both_retrievers(retriever):
    v = vector(zebra=0.5, kernel=0.3)
    scores = retriever.scores("zebra kernel", v, "hybrid", exclude=frozenset({"zebra"}))
    assert "zebra" not in scores.note_dense and "zebra" not in scores.note_lex
    assert scores.note_lex["kernel"] == pytest.approx(1.0)  # normalised among what is left
    assert [h.note_id for h in fuse([scores])][0] == "kernel"


def test_fuse_merges_parts_normalising_bm25_per_part(retriever):
    """Two indexes (a server's own beside the base): cosines compare directly, BM25 per part."""
    own_chunks = [chunk("sigmoid", OVERVIEW, "the logistic squashing function")]
    own = Retriever(_in_memory(own_chunks, np.eye(1, DIM, DIM - 2, dtype=np.float32), "m"))
    v = vector(kernel=0.5)
    v2 = v.copy()
    v2[DIM - 2], v2[DIM - 1] = 0.45, np.sqrt(max(0.0, 1 - 0.25 - 0.45 ** 2))
    base_part = retriever.scores("logistic kernel", v2, "hybrid")
    own_part = own.scores("logistic kernel", v2, "hybrid")
    hits = fuse([base_part, own_part])
    by_id = {h.note_id: h for h in hits}
    assert by_id["sigmoid"].lexical == pytest.approx(1.0) and by_id["kernel"].lexical == pytest.approx(1.0)
    assert [h.note_id for h in hits[:2]] == ["kernel", "sigmoid"]  # 0.5 + 0.2 before 0.45 + 0.2
    assert by_id["sigmoid"].score == pytest.approx(0.45 + LEXICAL_WEIGHT)
    assert by_id["kernel"].score == pytest.approx(0.5 + LEXICAL_WEIGHT)


def test_coverage_counts_the_question_words_the_notes_know(retriever):
    assert retriever.coverage("zebra stripes") == 1.0
    assert retriever.coverage("zebra unicorn") == 0.5
    assert retriever.coverage("the of") == 1.0  # only stop words: nothing to miss


def test_lexical_tokens_are_stemmed_without_stop_words():
    assert lexical_tokens("The Zebras are crossing") == ["zebra", "cross"]


def test_dense_mode_ignores_the_words_entirely(retriever):
    from bot.retrieval.search import ChunkHit

    hits = retriever.rank("zebra stripes", vector(kernel=0.5), "dense",
                          dense_hits=[ChunkHit(axis_of("kernel"), 0.5), ChunkHit(axis_of("margin"), 0.2)])
    assert [(h.note_id, h.lexical) for h in hits] == [("kernel", 0.0), ("margin", 0.0)]  # zebra: words only


def test_equal_fused_scores_go_to_the_higher_cosine_then_the_note_id(retriever):
    from bot.retrieval.search import NoteScores

    base = retriever.scores("nothing", vector(kernel=0.5), "hybrid")
    tied = NoteScores(retriever, base.dense_chunk, {"kernel": 0.5, "margin": 0.3, "zebra": 0.3},
                      {"margin": 1.0, "zebra": 1.0}, base.lex, base.top_lex, base.floor)
    assert [h.note_id for h in fuse([tied])] == ["kernel", "margin", "zebra"]  # all 0.5


def test_a_passage_outside_the_dense_candidates_needs_the_words(retriever):
    from bot.retrieval.search import ChunkHit

    example, intuition = axis_of("zebra", "Example"), axis_of("zebra", "Intuition")
    only_example = [ChunkHit(axis_of("zebra"), 0.9), ChunkHit(example, 0.1)]
    top = retriever.rank("white stripes", vector(zebra=0.9, zebra__Example=0.1), dense_hits=only_example)[0]
    assert top.passage_chunk == example  # intuition's words (0.3) do not lift it from -1 over 0.1
    scores = retriever.scores("white stripes", vector(zebra=0.9))
    assert scores.top_lex > 1.07  # so dividing by it and multiplying by it differ (by 1.07 squared)
    assert retriever.passage("zebra", scores, best=True) == intuition
    near = {**scores.dense_chunk, example: 0.32, intuition: 0.0}
    from bot.retrieval.search import NoteScores

    moved = NoteScores(retriever, near, scores.note_dense, scores.note_lex, scores.lex, scores.top_lex, scores.floor)
    assert retriever.passage("zebra", moved, best=True) == example  # 0.32 beats 0 + 0.3 * 1.0
    assert retriever.passage("zebra", moved, best=False) == intuition  # the first explanation


def test_no_dense_candidates_asked_for():
    chunks = [chunk(*c) for c in CHUNKS]
    r = Retriever(_in_memory(chunks, np.eye(len(chunks), DIM, dtype=np.float32), "m"))
    assert r.dense_chunks(np.stack([vector(kernel=1.0)] * 2), k=0) == [[], []]
    assert [h.chunk_id for h in r.dense_chunks(vector(kernel=0.8, margin=0.6)[None, :], k=2)[0]] == \
        [axis_of("kernel"), axis_of("margin")]


def test_coverage_may_count_a_second_index(retriever):
    own = Retriever(_in_memory([chunk("sigmoid", OVERVIEW, "logistic squashing")],
                               np.eye(1, DIM, dtype=np.float32), "m"))
    assert retriever.coverage("zebra logistic") == 0.5
    assert retriever.coverage("zebra logistic", also=own) == 1.0


def test_the_reader_corrects_typos_towards_the_notes_words(retriever):
    assert retriever.read("zebrra crossing") == "zebra crossing"
    assert retriever.read("what is the kernell") == "what is the kernel"


def test_speller_words_are_the_corpus_words_of_four_letters_or_more():
    from bot.retrieval.search import _speller, speller_targets, word_counts

    chunks = [chunk("n", OVERVIEW, "Zebra zebra ox THE stripes return"), chunk("m", OVERVIEW, "zebra tensor")]
    counts = word_counts(chunks)
    assert counts["zebra"] == 3 and counts["stripes"] == 1 and "ox" not in counts and counts["tensor"] == 1
    targets = speller_targets(counts)
    assert "zebra" in targets and "return" not in targets and "tensor" not in targets  # code words: never targets
    assert "there" not in speller_targets({"there": 4, "zebra": 1})  # stop words: never targets
    speller = _speller(chunks, frozenset({"unicorn"}))
    assert {"unicorn", "the", "return", "zebra"} <= speller.known
    assert speller.targets == targets
