"""Shared fixtures and helpers of the benchmarks: paths, offline env, timing, the corpus snapshot, instrumentation."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

STARTED = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - STARTED:7.1f}s] {msg}", file=sys.stderr, flush=True)


def pct(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds == seconds else "n/a"


def rss_mb() -> float:
    """This process's resident memory now (MiB)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")



def questions(n: int) -> list[str]:
    lines = (REPO / "eval" / "dev.jsonl").read_text().splitlines()
    qs = [json.loads(line)["q"] for line in lines if line.strip()]
    while len(qs) < n:  # never needed with the shipped file (252 questions), kept for safety
        qs += qs
    return qs[:n]


def snapshot_corpus(dest: Path, quick: bool) -> Path:
    """Copy the shipped corpus (others may edit it while we run). --quick keeps a prerequisite-closed subset."""
    from bot.knowledge.corpus import load_corpus

    shutil.copytree(REPO / "corpus", dest, ignore=shutil.ignore_patterns(".*"))
    if quick:
        corpus = load_corpus(dest)
        keep: set[str] = set()
        for nid in list(corpus.notes)[::7]:  # every 7th note, then close over prerequisites
            stack = [nid]
            while stack:
                cur = stack.pop()
                if cur not in keep:
                    keep.add(cur)
                    stack += corpus.notes[cur].prerequisites
            if len(keep) >= 40:
                break
        for note in corpus.notes.values():
            if note.id not in keep:
                (dest / note.discipline / f"{note.id}.md").unlink()
    load_corpus(dest)  # fail early if the snapshot is invalid
    return dest


def make_settings(corpus: Path, index: Path):
    from bot.config import Settings

    return Settings(corpus_dir=corpus, index_dir=index, data_dir=index.parent / "data", _env_file=None)


@contextlib.contextmanager
def instrument(embedder):
    """Time where a build/refresh spends its time, by wrapping the functions it calls (restored on exit)."""
    import faiss

    import bot.retrieval.answering as answering
    import bot.retrieval.index as index_mod

    totals: dict[str, float] = {}

    def wrap(label, fn):
        def inner(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                totals[label] = totals.get(label, 0.0) + time.perf_counter() - t
        return inner

    patches = [
        (answering, "load_corpus", "read + validate corpus (load_corpus)"),
        (answering, "Retriever", "Retriever init (BM25 index of all chunks)"),
        (index_mod, "chunk_note", "chunk notes"),
        (index_mod, "make_faiss_index", "FAISS index build"),
        (index_mod, "_sha256_file", "sha256 of index files"),
        (index_mod.EmbeddingCache, "load", "embedding cache load"),
        (index_mod.EmbeddingCache, "save", "embedding cache save"),
        (index_mod.IndexStore, "_sweep_old", "delete previous build"),
        (faiss, "write_index", "write faiss.index"),
        (embedder, "encode", "embed new or changed chunks (model)"),
    ]
    saved = []
    for owner, name, label in patches:
        original = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name)
        if original is None:
            original = getattr(owner, name)
        saved.append((owner, name, original, name in vars(owner)))
        setattr(owner, name, wrap(label, original))
    try:
        yield totals
    finally:
        for owner, name, original, had in reversed(saved):
            if had:
                setattr(owner, name, original)
            else:
                delattr(owner, name)
