"""The query model without torch: the sentence-transformers model exported to ONNX (fp32, or int8).

Exported once per index folder (`<index>/onnx/<model key>-<precision>/`), at index build, with
`torch.onnx.export` and, for int8, `onnxruntime.quantization.quantize_dynamic` (no optimum). fp32 is the
default (STUDYBOT_ONNX_PRECISION): int8 lost 0.6-0.7 pt hit@1 on the real questions. The folder is
self-contained:

    model.<precision>.onnx   the transformer, token embeddings out (int8: int8 weights, dynamic activations)
    tokenizer.json    the model's fast tokenizer
    artifact.json     model, variant, sha256 of the model file, and the pooling layout read from the model's
                      own modules (modules.json, 1_Pooling/config.json, sentence_bert_config.json)

`OnnxEmbedder` has the interface of `Embedder` (name, dimension, encode, word_list) and runs with
onnxruntime + tokenizers only: importing this module or embedding with an existing artifact never imports
torch or sentence-transformers. Only `export_artifact` does (at build time).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bot.errors import ModelUnavailable
from bot.retrieval.durable import publish

PRECISIONS = ("fp32", "int8")
VARIANT = "onnx-int8"  # the int8 variant's name (kept for callers); see variant_of()
EXPORT_RECIPE = 2  # bump when the export or quantization recipe changes (the artifact is then re-exported)
OPSET = 17


def variant_of(precision: str) -> str:
    return f"onnx-{precision}"


def model_file(precision: str) -> str:
    return f"model.{precision}.onnx"
POOLING_MODES = ("mean", "cls", "max", "mean_sqrt_len")


@dataclass(frozen=True)
class Layout:
    """What the model does after the transformer, as its sentence-transformers modules say."""

    max_seq_length: int
    pooling: str  # one of POOLING_MODES
    normalize: bool
    dimension: int
    inputs: tuple[str, ...] = ("input_ids", "attention_mask", "token_type_ids")


def read_layout(model_dir: Path) -> tuple[Layout, Path]:
    """The layout of a sentence-transformers folder, and the folder of its Transformer module.

    Supports Transformer -> Pooling -> (Normalize); anything else (Dense, several poolings) is refused.
    """
    model_dir = Path(model_dir)
    try:
        modules = json.loads((model_dir / "modules.json").read_text())
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"'{model_dir}' has no readable modules.json; ONNX export needs a "
                               "sentence-transformers model folder.") from exc
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        raise ModelUnavailable(f"The ONNX query path supports Transformer + Pooling (+ Normalize) models; "
                               f"'{model_dir}' has {kinds}. Use STUDYBOT_QUERY_BACKEND=torch.")
    transformer_dir = model_dir / modules[0].get("path", "")
    pooling = json.loads((model_dir / modules[1]["path"] / "config.json").read_text())
    modes = [m for m in POOLING_MODES if pooling.get(f"pooling_mode_{m}_tokens" if m != "cls" else "pooling_mode_cls_token")]
    if len(modes) != 1 or any(v for k, v in pooling.items() if k.startswith("pooling_mode_") and
                              k not in {"pooling_mode_mean_tokens", "pooling_mode_cls_token",
                                        "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens"}):
        raise ModelUnavailable(f"Unsupported pooling {pooling} in '{model_dir}'. Use STUDYBOT_QUERY_BACKEND=torch.")
    st_config = json.loads((model_dir / "sentence_bert_config.json").read_text())
    return Layout(max_seq_length=int(st_config.get("max_seq_length") or 512), pooling=modes[0],
                  normalize="Normalize" in kinds, dimension=int(pooling["word_embedding_dimension"])), transformer_dir


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def artifact_dir(root: Path, model: str, precision: str = "fp32") -> Path:
    from bot.retrieval.embedding_cache import model_key  # numpy only, not torch

    return Path(root) / f"{model_key(model)}-{precision}"


def export_artifact(model: str, dest: Path, precision: str = "fp32") -> dict:
    """Export `model` to ONNX (quantized to int8 unless `precision` is fp32) into the folder `dest` (atomically).

    Imports torch and transformers: call it at build time only. Returns the artifact record.
    """
    import logging
    import warnings

    import torch
    import transformers
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()

    from bot.retrieval.embedding import resolve_model

    source = Path(resolve_model(model))
    layout, transformer_dir = read_layout(source)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        net = AutoModel.from_pretrained(str(transformer_dir)).eval()
        import inspect

        accepted = set(inspect.signature(net.forward).parameters)
        inputs = tuple(n for n in Layout.inputs if n in accepted)

        class TokenEmbeddings(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, *args):
                return self.inner(**dict(zip(inputs, args))).last_hidden_state

        # An example batch with padding, so tracing never specialises the attention mask away.
        example = tuple(torch.tensor([[1] * 8, [1] * 5 + [0] * 3]) if n == "attention_mask" else
                        torch.ones((2, 8), dtype=torch.long) for n in inputs)
        fp32 = tmp / "model.fp32.onnx"
        axes = {n: {0: "batch", 1: "sequence"} for n in inputs}
        axes["token_embeddings"] = {0: "batch", 1: "sequence"}
        root_logger, level = logging.getLogger(), logging.getLogger().level
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about Python control flow in the HF model
            root_logger.setLevel(logging.ERROR)  # quantize_dynamic's "consider pre-processing" notice
            try:
                torch.onnx.export(TokenEmbeddings(net), example, str(fp32), input_names=list(inputs),
                                  output_names=["token_embeddings"], dynamic_axes=axes, opset_version=OPSET,
                                  dynamo=False)
                # Per-channel weight scales: per-tensor int8 drops the cosine to the torch vectors to a
                # mean of 0.967 (min 0.951) on dev questions; per-channel keeps 0.994 (min 0.991).
                if precision == "int8":
                    quantize_dynamic(str(fp32), str(tmp / model_file(precision)), weight_type=QuantType.QInt8,
                                     per_channel=True)
            finally:
                root_logger.setLevel(level)
        if precision == "int8":
            fp32.unlink()
        shutil.copyfile(transformer_dir / "tokenizer.json", tmp / "tokenizer.json")
        record = {"model": model, "variant": variant_of(precision), "sha256": sha256_file(tmp / model_file(precision)),
                  "recipe": EXPORT_RECIPE, "opset": OPSET, "torch": torch.__version__,
                  "layout": {**asdict(layout), "inputs": list(inputs)}}
        (tmp / "artifact.json").write_text(json.dumps(record, indent=1))
        shutil.rmtree(dest, ignore_errors=True)
        try:
            publish(tmp, dest)  # fsynced before and after the rename, like every index file
        except OSError:  # another process finished the same export first: use theirs
            pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return json.loads((dest / "artifact.json").read_text())


def read_artifact(dest: Path) -> dict | None:
    """The artifact record when the folder holds a complete artifact of the current recipe, else None."""
    try:
        record = json.loads((dest / "artifact.json").read_text())
    except (OSError, ValueError):
        return None
    precision = str(record.get("variant", "")).removeprefix("onnx-")
    if (record.get("recipe") != EXPORT_RECIPE or precision not in PRECISIONS
            or not (dest / model_file(precision)).is_file() or not (dest / "tokenizer.json").is_file()):
        return None
    return record


class OnnxEmbedder:
    """Encodes texts into L2-normalised float32 vectors with the int8 ONNX model. Thread-safe, lazy.

    `allow_export`: export the artifact when it is missing or damaged (imports torch). The build path
    allows it; with False a missing artifact is a ModelUnavailable error.
    """


    def __init__(self, model: str, root: Path, batch_size: int = 32, threads: int | None = None,
                 allow_export: bool = True, precision: str = "fp32"):
        if precision not in PRECISIONS:
            raise ModelUnavailable(f"Unknown ONNX precision '{precision}' (one of: {', '.join(PRECISIONS)}).")
        self.name = model
        self.precision = precision
        self.variant = variant_of(precision)
        self.root = Path(root)
        self.dir = artifact_dir(self.root, model, precision)
        self.batch_size = batch_size
        self.threads = threads
        self.allow_export = allow_export
        self._record: dict | None = None
        self._session = None
        self._tokenizer = None
        self._pad_id = 0
        self._lock = threading.RLock()  # _ready() -> _load() -> record re-enters it

    # -- the artifact ----------------------------------------------------------------------------------
    @property
    def record(self) -> dict:
        if self._record is None:
            with self._lock:
                if self._record is None:
                    self._record = self._ensure_artifact()
        return self._record

    def _ensure_artifact(self) -> dict:
        record = read_artifact(self.dir)
        if record is not None and record.get("model") == self.name and record.get("variant") == self.variant:
            return record
        if not self.allow_export:
            raise ModelUnavailable(f"No ONNX model for '{self.name}' in '{self.dir}'. Run: studybot index build")
        return export_artifact(self.name, self.dir, self.precision)

    @property
    def identity(self) -> dict:
        """What the manifest records and loading compares: model, variant, checksum of the model file."""
        return {"model": self.name, "variant": self.variant, "sha256": self.record["sha256"]}

    @property
    def cache_name(self) -> str:
        """The embedding-cache name: vectors of another artifact are never reused."""
        return f"{self.name}#{self.variant}-{self.record['sha256'][:12]}"

    @property
    def layout(self) -> Layout:
        data = dict(self.record["layout"])
        data["inputs"] = tuple(data["inputs"])
        return Layout(**data)

    def _load(self):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        record = self.record
        path = self.dir / model_file(self.precision)
        if sha256_file(path) != record["sha256"]:
            if not self.allow_export:
                raise ModelUnavailable(f"The ONNX model '{path}' is damaged. Run: studybot index build")
            record = self._record = export_artifact(self.name, self.dir, self.precision)
        layout = self.layout
        tokenizer = Tokenizer.from_file(str(self.dir / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=layout.max_seq_length)
        self._pad_id = int((tokenizer.padding or {}).get("pad_id", tokenizer.token_to_id("[PAD]") or 0))
        tokenizer.no_padding()  # encode() pads each length-sorted batch to its own longest text
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads or max(1, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # No spin-waiting after a run: spinning onnxruntime threads starve FAISS's OpenMP threads on a small
        # machine (dense search measured 15 ms p50 instead of <1 ms with spinning on, 2 cores).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return session, tokenizer

    def _ready(self):
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session, self._tokenizer = self._load()
        return self._session, self._tokenizer

    # -- the Embedder interface --------------------------------------------------------------------------
    @property
    def dimension(self) -> int:
        return self.layout.dimension

    def word_list(self) -> frozenset[str]:
        from bot.retrieval.embedding import Embedder

        return Embedder(self.name).word_list()  # reads vocab.txt; loads no model

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """Embed texts; returns an (n, dim) float32 array (unit vectors when the model normalises).

        Texts go through in batches sorted by length, so a batch pads little.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        session, tokenizer = self._ready()
        layout = self.layout
        encodings = tokenizer.encode_batch(list(texts))  # truncated, not padded: padded per batch below
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")[::-1]
        out = np.empty((len(texts), layout.dimension), dtype=np.float32)
        bar = _progress(len(texts), self.precision) if show_progress else None
        for start in range(0, len(texts), self.batch_size):
            rows = order[start:start + self.batch_size]
            width = len(encodings[rows[0]].ids)
            ids = np.full((len(rows), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            types = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                e = encodings[i]
                ids[r, :len(e.ids)] = e.ids
                mask[r, :len(e.ids)] = e.attention_mask
                types[r, :len(e.ids)] = e.type_ids
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in layout.inputs:
                feeds["token_type_ids"] = types
            tokens = session.run(["token_embeddings"], feeds)[0]
            out[rows] = pool(tokens, mask, layout)
            if bar is not None:
                bar.update(len(rows))
        if bar is not None:
            bar.close()
        return out


def pool(tokens: np.ndarray, mask: np.ndarray, layout: Layout) -> np.ndarray:
    """Sentence vectors from token embeddings, as sentence-transformers' Pooling and Normalize modules do."""
    m = mask[:, :, None].astype(np.float32)
    if layout.pooling == "cls":
        vecs = tokens[:, 0]
    elif layout.pooling == "max":
        vecs = np.where(m > 0, tokens, -1e9).max(axis=1)
    else:
        summed = (tokens * m).sum(axis=1)
        counts = np.clip(m.sum(axis=1), 1e-9, None)
        vecs = summed / (counts if layout.pooling == "mean" else np.sqrt(counts))
    vecs = vecs.astype(np.float32)
    if layout.normalize:
        vecs /= np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12, None)
    return vecs


def _progress(total: int, precision: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=f"Embedding (onnx {precision})", unit="chunk")


__all__ = ["Layout", "OnnxEmbedder", "PRECISIONS", "VARIANT", "model_file", "variant_of", "export_artifact", "pool", "read_artifact", "read_layout"]
