"""FAISS returns exactly what a brute-force numpy top-k returns; approximate indexes keep high recall."""

from __future__ import annotations

import numpy as np
import pytest

from bot.retrieval.index import make_faiss_index


def unit(rng, n, d=64):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_force_topk(vectors, queries, k):
    scores = queries @ vectors.T
    idx = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, idx, axis=1), idx


@pytest.mark.parametrize("n, k", [(1, 1), (50, 5), (3000, 10)])
def test_exact_index_matches_brute_force(n, k):
    rng = np.random.default_rng(n)
    vectors, queries = unit(rng, n), unit(rng, 20)
    index, kind = make_faiss_index(vectors, np.arange(n), ann_threshold=10**9)
    assert kind == "FlatIP"
    got_scores, got_ids = index.search(queries, k)
    want_scores, want_ids = brute_force_topk(vectors, queries, k)
    np.testing.assert_allclose(got_scores, want_scores, rtol=1e-5, atol=1e-5)
    # Ties aside, the same ids in the same order.
    assert (got_ids == want_ids).mean() > 0.999


def test_ids_are_the_given_chunk_ids():
    rng = np.random.default_rng(0)
    vectors = unit(rng, 10)
    ids = np.arange(100, 110)
    index, _ = make_faiss_index(vectors, ids, ann_threshold=10**9)
    _, got = index.search(vectors[3:4], 1)
    assert got[0, 0] == 103


def clustered(rng, n, centres, spread=0.8):
    """Unit vectors around the given centres (embedding-like clusters), for the approximate index."""
    d = centres.shape[1]
    x = centres[rng.integers(0, len(centres), n)] + rng.standard_normal((n, d)).astype(np.float32) * (spread / np.sqrt(d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("data", ["clustered", "uniform"])
def test_approximate_index_above_threshold_keeps_recall(data, tmp_path):
    import faiss

    rng = np.random.default_rng(7)
    if data == "clustered":
        centres = unit(rng, 100, 32)
        vectors, queries = clustered(rng, 5000, centres), clustered(rng, 200, centres)  # queries: not in the index
    else:
        vectors, queries = unit(rng, 5000, 32), unit(rng, 200, 32)
    ids = np.arange(5000) + 1000
    index, kind = make_faiss_index(vectors, ids, ann_threshold=1000)
    assert kind.startswith("IVF")
    ivf = faiss.extract_index_ivf(index)
    assert f"nprobe={ivf.nprobe}" in kind
    if data == "clustered":
        assert ivf.nprobe <= ivf.nlist // 4  # really approximate: it scans a fraction of the lists
    _, got = index.search(queries, 10)
    _, want = brute_force_topk(vectors, queries, 10)
    recall = np.mean([len(set(g) & set(w + 1000)) / 10 for g, w in zip(got, want)])
    assert recall >= 0.95
    # nprobe is saved with the index: a loaded index searches exactly the same way.
    faiss.write_index(index, str(tmp_path / "faiss.index"))
    loaded = faiss.read_index(str(tmp_path / "faiss.index"))
    assert faiss.extract_index_ivf(loaded).nprobe == ivf.nprobe
    np.testing.assert_array_equal(loaded.search(queries, 10)[1], got)
    np.testing.assert_allclose(loaded.reconstruct(1003), vectors[3])


def test_real_retriever_dense_hits_match_numpy(small_settings, embedder):
    from bot.retrieval.answering import AnswerService

    service = AnswerService(small_settings, embedder=embedder)
    service.ensure_ready()
    retriever = service.state.retriever
    q = embedder.encode(["how do I go downhill on a loss surface?"])
    hits = retriever.dense_chunks(q, k=5)[0]
    all_vectors = np.stack([retriever.loaded.faiss_index.reconstruct(i) for i in range(len(retriever.chunks))])
    _, want = brute_force_topk(all_vectors, q, 5)
    assert [h.chunk_id for h in hits] == list(want[0])
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
