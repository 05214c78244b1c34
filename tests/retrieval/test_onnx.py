"""The int8 ONNX path: vectors as the torch model's, the model's own pooling, a manifest that pins the
artifact, and answers (CLI, batcher) that never import torch or sentence-transformers."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.config import Settings
from bot.errors import IndexMismatch, ModelUnavailable
from bot.knowledge.corpus import load_corpus
from bot.retrieval.answering import AnswerService
from bot.retrieval.batching import MicroBatcher
from bot.retrieval.embedding import Embedder, make_embedder, resolve_model
from bot.retrieval.index import IndexStore
from bot.retrieval.onnx_model import Layout, OnnxEmbedder, model_file, pool, read_layout, sha256_file

REPO = Path(__file__).resolve().parents[2]
QUESTIONS = [json.loads(line)["q"] for line in (REPO / "eval" / "dev.jsonl").read_text().splitlines() if line.strip()][:24]
# Three parts of ~120 words each on different topics: 128-token truncation keeps the first part only, the
# model's 256 keeps two, no truncation would see all three.
LONG = " ".join(["To grill a steak, heat the grill, salt the meat and rest it afterwards."] * 9
                + ["Backpropagation applies the chain rule to compute gradients of the loss in neural networks."] * 9
                + ["The French revolution began in 1789 with the storming of the Bastille in Paris."] * 9)
TEXTS = [*QUESTIONS, LONG, "entropy", "what is a derivative?"]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


def test_onnx_vectors_match_the_torch_model(onnx_embedder, embedder):
    a, b = onnx_embedder.encode(TEXTS), embedder.encode(TEXTS)
    cos = cosines(a, b)
    assert a.dtype == np.float32 and a.shape == b.shape
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert cos.min() >= 0.98 and cos.mean() >= 0.99, cos.round(3)


@pytest.fixture(scope="module")
def int8_embedder(tmp_path_factory, onnx_embedder):
    """The int8 variant (STUDYBOT_ONNX_PRECISION=int8), exported once for this module."""
    return OnnxEmbedder(onnx_embedder.name, tmp_path_factory.mktemp("onnx-int8"), precision="int8")


def test_int8_vectors_stay_close_to_the_torch_model(int8_embedder, embedder):
    a, b = int8_embedder.encode(TEXTS), embedder.encode(TEXTS)
    cos = cosines(a, b)
    assert int8_embedder.identity["variant"] == "onnx-int8"
    assert cos.min() >= 0.98 and cos.mean() >= 0.99, cos.round(3)


def test_batched_and_single_encodings_agree(onnx_embedder):
    # Not bit-identical: dynamic quantization scales activations per batch (cosine ~0.99 measured);
    # padding leaking into the pooling drops short texts far lower.
    batch = onnx_embedder.encode(TEXTS)
    single = np.stack([onnx_embedder.encode([t])[0] for t in TEXTS])
    assert cosines(batch, single).min() >= 0.98


def test_layout_is_read_from_the_models_modules(tmp_path):
    source = Path(resolve_model("all-MiniLM-L6-v2"))
    layout, transformer_dir = read_layout(source)
    assert layout == Layout(max_seq_length=256, pooling="mean", normalize=True, dimension=384)
    assert transformer_dir == source

    other = tmp_path / "model"
    (other / "pool").mkdir(parents=True)
    (other / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "pool", "type": "sentence_transformers.models.Pooling"}]))
    (other / "pool" / "config.json").write_text(json.dumps({"word_embedding_dimension": 768,
                                                            "pooling_mode_cls_token": True}))
    (other / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 512}))
    assert read_layout(other)[0] == Layout(max_seq_length=512, pooling="cls", normalize=False, dimension=768)

    modules = json.loads((other / "modules.json").read_text())
    modules.append({"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (other / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ModelUnavailable, match="STUDYBOT_QUERY_BACKEND=torch"):
        read_layout(other)


def test_pooling_follows_the_attention_mask():
    tokens = np.arange(24, dtype=np.float32).reshape(2, 4, 3) - 5
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]])
    plain = dict(max_seq_length=8, normalize=False, dimension=3)
    mean = pool(tokens, mask, Layout(pooling="mean", **plain))
    assert np.allclose(mean[0], tokens[0, :2].mean(axis=0)) and np.allclose(mean[1], tokens[1].mean(axis=0))
    assert np.allclose(pool(tokens, mask, Layout(pooling="max", **plain))[0], tokens[0, 1])
    assert np.allclose(pool(tokens, mask, Layout(pooling="cls", **plain)), tokens[:, 0])
    unit = pool(tokens, mask, Layout(pooling="mean", max_seq_length=8, normalize=True, dimension=3))
    assert np.allclose(unit, mean / np.linalg.norm(mean, axis=1, keepdims=True))


def test_manifest_pins_the_artifact_and_loading_refuses_another(tmp_path, small_corpus, onnx_embedder):
    store = IndexStore(tmp_path / "index")
    loaded, _ = store.build(load_corpus(small_corpus), onnx_embedder)
    digest = sha256_file(onnx_embedder.dir / model_file(onnx_embedder.precision))
    assert loaded.manifest.embedding == {"model": onnx_embedder.name, "variant": onnx_embedder.variant, "sha256": digest}
    on_disk = json.loads((loaded.path / "manifest.json").read_text())
    assert on_disk["embedding"]["sha256"] == digest
    store.load(onnx_embedder.name, embedding=onnx_embedder.identity)  # the same artifact: fine
    with pytest.raises(IndexMismatch, match="Rebuild"):
        store.load(onnx_embedder.name, embedding={**onnx_embedder.identity, "sha256": "0" * 64})
    with pytest.raises(IndexMismatch):
        store.load(onnx_embedder.name, embedding={"model": onnx_embedder.name, "variant": "torch-fp32"})
    assert not store.is_fresh(load_corpus(small_corpus), onnx_embedder.name, {"variant": "torch-fp32"})


def test_switching_backend_rebuilds_instead_of_mixing_vector_spaces(small_settings, onnx_embedder, embedder):
    AnswerService(small_settings, embedder=onnx_embedder).ensure_ready()
    torch_service = AnswerService(small_settings, embedder=embedder)
    assert torch_service.ensure_ready() is not None  # rebuilt, not served from the int8 vectors
    assert torch_service.state.loaded.manifest.embedding == {"model": embedder.name, "variant": "torch-fp32"}


def test_a_damaged_artifact_is_refused_when_export_is_not_allowed(tmp_path, onnx_embedder):
    root = tmp_path / "onnx"
    shutil.copytree(onnx_embedder.dir, root / onnx_embedder.dir.name)
    model = root / onnx_embedder.dir.name / model_file(onnx_embedder.precision)
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(ModelUnavailable, match="damaged"):
        OnnxEmbedder(onnx_embedder.name, root, allow_export=False).encode(["what is entropy?"])
    with pytest.raises(ModelUnavailable, match="index build"):
        OnnxEmbedder(onnx_embedder.name, tmp_path / "empty", allow_export=False).encode(["what is entropy?"])


def test_query_backend_setting(monkeypatch, tmp_path):
    monkeypatch.delenv("STUDYBOT_QUERY_BACKEND", raising=False)
    default = make_embedder(Settings(index_dir=tmp_path / "index", _env_file=None))
    assert isinstance(default, OnnxEmbedder) and default.root == tmp_path / "index" / "onnx"
    monkeypatch.setenv("STUDYBOT_QUERY_BACKEND", "torch")
    assert type(make_embedder(Settings(_env_file=None))) is Embedder


async def test_batcher_answers_with_the_onnx_model(small_settings, onnx_embedder):
    service = AnswerService(small_settings, embedder=onnx_embedder)
    service.ensure_ready()
    batcher = MicroBatcher(service, max_batch=8)
    questions = ["what is Bayes rule?", "how does gradient descent step?", "what grill temperature for a steak?"] * 4
    try:
        answers = await asyncio.gather(*(batcher.answer(q) for q in questions))
    finally:
        await batcher.close()
    expected = {q: service.answer(q) for q in set(questions)}
    assert [(a.answered, a.best and a.best.id) for a in answers] == \
        [(expected[q].answered, expected[q].best and expected[q].best.id) for q in questions]
    assert max(batcher.batches) > 1


def test_ask_in_a_fresh_process_never_imports_torch(tmp_path, small_corpus, onnx_embedder):
    index_dir = tmp_path / "index"
    shutil.copytree(onnx_embedder.dir, index_dir / "onnx" / onnx_embedder.dir.name)
    settings = Settings(corpus_dir=small_corpus, index_dir=index_dir, data_dir=tmp_path / "data",
                        query_backend="onnx", _env_file=None)
    AnswerService(settings).ensure_ready()  # the default embedder finds the artifact: no export
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")}
    env.update(STUDYBOT_CORPUS_DIR=str(small_corpus), STUDYBOT_INDEX_DIR=str(index_dir),
               STUDYBOT_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "bot.cli", "ask", "--json",
                           "what does the chain rule say?"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    answer = json.loads(proc.stdout.strip().splitlines()[-1])
    assert answer["answered"] and answer["results"][0]["id"] == "chain-rule"
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "onnxruntime" in imported  # the ONNX model answered
    heavy = sorted(m for m in imported if m.split(".")[0] in {"torch", "sentence_transformers", "transformers"})
    assert heavy == []
