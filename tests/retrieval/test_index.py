"""Index builds are incremental, atomic, and loading refuses what does not match."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot.errors import IndexCorrupted, IndexMismatch, IndexUnavailable
from bot.knowledge.corpus import load_corpus
from bot.retrieval.index import IndexStore
from tests.notes_factory import write_note


def build(root, corpus_dir, embedder):
    store = IndexStore(root)
    return store, *store.build(load_corpus(corpus_dir), embedder)


def test_first_build_embeds_everything_and_loads_back(tmp_path, small_corpus, counting_embedder):
    store, loaded, report = build(tmp_path / "index", small_corpus, counting_embedder)
    assert sorted(report.added) == sorted(load_corpus(small_corpus).notes)
    assert report.embedded == len(loaded.chunks) == len(counting_embedder.encoded)
    again = store.load(counting_embedder.name)
    assert again.manifest.corpus_hash == loaded.manifest.corpus_hash
    assert again.manifest.model == counting_embedder.name and again.manifest.dimension == 384
    assert again.faiss_index.ntotal == len(again.chunks)
    assert [c.key for c in again.chunks] == [c.key for c in loaded.chunks]


def test_rebuild_embeds_only_changed_chunks_and_drops_deleted_notes(tmp_path, small_corpus, counting_embedder):
    store, first, _ = build(tmp_path / "index", small_corpus, counting_embedder)
    counting_embedder.encoded.clear()
    changed = small_corpus / "calculus" / "gradient-descent.md"
    changed.write_text(changed.read_text().replace("one step gives w = 0.8.", "one step gives w = 0.8, then 0.64."))
    (small_corpus / "statistics" / "bayes-theorem.md").unlink()

    _, second, report = build(tmp_path / "index", small_corpus, counting_embedder)
    assert report.changed == ["gradient-descent"] and report.removed == ["bayes-theorem"] and report.added == []
    assert counting_embedder.encoded == [c.embed_text for c in second.chunks if "then 0.64" in c.text]
    assert not any(c.note_id == "bayes-theorem" for c in store.load(counting_embedder.name).chunks)


def test_unchanged_corpus_embeds_nothing(tmp_path, small_corpus, counting_embedder):
    build(tmp_path / "index", small_corpus, counting_embedder)
    counting_embedder.encoded.clear()
    _, _, report = build(tmp_path / "index", small_corpus, counting_embedder)
    assert counting_embedder.encoded == [] and report.embedded == 0


def test_crash_mid_build_leaves_the_previous_index_loadable(tmp_path, small_corpus, counting_embedder, monkeypatch):
    store, first, _ = build(tmp_path / "index", small_corpus, counting_embedder)
    write_note(small_corpus, "new-topic", "calculus", prerequisites=["derivatives"])

    import bot.retrieval.index as index_module

    def crash(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(index_module.faiss, "write_index", crash)
    with pytest.raises(OSError):
        store.build(load_corpus(small_corpus), counting_embedder)
    monkeypatch.undo()

    survivor = IndexStore(tmp_path / "index").load(counting_embedder.name)
    assert survivor.manifest.corpus_hash == first.manifest.corpus_hash
    assert not any(c.note_id == "new-topic" for c in survivor.chunks)
    # The next build cleans up the half-written folder and succeeds.
    _, rebuilt, report = build(tmp_path / "index", small_corpus, counting_embedder)
    assert report.added == ["new-topic"]
    assert not list((tmp_path / "index" / "builds").glob(".tmp-*"))


def test_model_mismatch_is_refused(tmp_path, small_corpus, embedder):
    store, _, _ = build(tmp_path / "index", small_corpus, embedder)
    with pytest.raises(IndexMismatch, match="built with the model"):
        store.load("some-other-model")


def test_format_mismatch_is_refused(tmp_path, small_corpus, embedder):
    store, loaded, _ = build(tmp_path / "index", small_corpus, embedder)
    manifest_path = loaded.path / "manifest.json"
    data = json.loads(manifest_path.read_text())
    data["format_version"] = 999
    manifest_path.write_text(json.dumps(data))
    with pytest.raises(IndexMismatch, match="format"):
        store.load(embedder.name)


def test_corrupted_file_is_refused(tmp_path, small_corpus, embedder):
    store, loaded, _ = build(tmp_path / "index", small_corpus, embedder)
    with (loaded.path / "faiss.index").open("r+b") as f:
        f.seek(100)
        f.write(b"\x00garbage\x00")
    with pytest.raises(IndexCorrupted, match="damaged"):
        store.load(embedder.name)


def test_missing_index_says_how_to_build(tmp_path, embedder):
    with pytest.raises(IndexUnavailable, match="studybot index build"):
        IndexStore(tmp_path / "empty").load(embedder.name)


def test_service_rebuilds_a_corrupted_index_instead_of_serving_it(small_settings, embedder):
    from bot.retrieval.answering import AnswerService

    service = AnswerService(small_settings, embedder=embedder)
    service.ensure_ready()
    (service.state.loaded.path / "chunks.jsonl").write_text("{}\n")
    fresh = AnswerService(small_settings, embedder=embedder)
    report = fresh.ensure_ready()
    assert report is not None  # rebuilt (from the embedding cache), not loaded
    assert fresh.answer("what does the chain rule say?").best.id == "chain-rule"


def test_embedding_cache_is_reused_across_stores(tmp_path, small_corpus, counting_embedder):
    build(tmp_path / "index", small_corpus, counting_embedder)
    counting_embedder.encoded.clear()
    # The live build is gone (e.g. deleted by hand); the cache still saves the embedding work.
    import shutil

    shutil.rmtree(tmp_path / "index" / "builds")
    (tmp_path / "index" / "CURRENT").unlink()
    _, loaded, report = build(tmp_path / "index", small_corpus, counting_embedder)
    assert report.embedded == 0 and len(loaded.chunks) > 0
    assert np.isclose(np.linalg.norm(loaded.faiss_index.reconstruct(0)), 1.0, atol=1e-4)


def test_broken_corpus_at_start_serves_the_last_good_index(small_settings, embedder):
    from bot.retrieval.answering import AnswerService

    AnswerService(small_settings, embedder=embedder).ensure_ready()
    broken = small_settings.corpus_dir / "calculus" / "chain-rule.md"
    broken.write_text(broken.read_text().replace("## Worked example", "## Worked exmaple"))
    service = AnswerService(small_settings, embedder=embedder)
    assert service.ensure_ready() is None
    assert any("missing section '## Worked example'" in str(p) for p in service.corpus_problems)
    answer = service.answer("what does the chain rule say about nested functions?")
    assert answer.best.id == "chain-rule" and answer.next_topics  # the graph comes from the snapshot


def test_broken_corpus_without_any_index_is_a_clear_error(small_settings, embedder):
    from bot.errors import CorpusInvalid
    from bot.retrieval.answering import AnswerService

    broken = small_settings.corpus_dir / "calculus" / "chain-rule.md"
    broken.write_text("no front matter")
    with pytest.raises(CorpusInvalid, match="missing YAML front matter"):
        AnswerService(small_settings, embedder=embedder).ensure_ready()
