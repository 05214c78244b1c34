"""Section `build`: a full index build of the shipped corpus (fresh index folder, no embedding cache)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from benchmarks.harness import REPO, instrument, log, make_settings

KEY = "build"


def bench_build(work: Path, corpus: Path, embedder, quick: bool) -> tuple[dict, Path]:
    from bot.retrieval.answering import AnswerService

    index_dir = work / "built-index"
    cache_seed = REPO / "index" / "cache"
    seeded = quick and cache_seed.is_dir()
    if seeded:  # --quick: reuse whatever the README quick start embedded, to keep the smoke run short
        shutil.copytree(cache_seed, index_dir / "cache")
    svc = AnswerService(make_settings(corpus, index_dir), embedder=embedder)
    log(f"build: {'quick subset, seeded cache' if seeded else 'full corpus, no embedding cache'} ...")
    with instrument(embedder) as parts:
        t = time.perf_counter()
        report = svc.refresh()
        total = time.perf_counter() - t
    manifest = svc.state.loaded.manifest
    res = {
        "kind": "quick subset (cache seeded from index/cache)" if seeded else ("quick subset" if quick else "full"),
        "seconds": total, "notes": report.notes, "chunks": report.chunks, "embedded": report.build.embedded,
        "index_type": manifest.index_type, "parts": dict(parts),
        "chunks_per_s": report.build.embedded / parts.get("embed new or changed chunks (model)", float("nan")),
    }
    log(f"build: {total:.1f}s, {report.chunks} chunks, {report.build.embedded} embedded")
    return res, index_dir


def render(sec: dict, res: dict) -> tuple[list[str], list[tuple[str, str, str]]]:
    """The '## Full index build' section."""
    b = sec
    out: list[str] = []
    targets: list[tuple[str, str, str]] = []
    cache = "no embedding cache" if "seeded" not in b["kind"] else "embedding cache seeded from `index/cache`"
    out += ["## Full index build", "",
            f"Corpus: {'the shipped corpus' if b['kind'] == 'full' else b['kind']} (a snapshot copy of `corpus/`), "
            f"{b['notes']} notes, {b['chunks']} chunks; fresh temporary index folder, {cache}; the model "
            "was already loaded (model load is part of the cold start below). Timed call: `AnswerService.refresh()`, "
            "what `studybot index build` runs.", "",
            "| | seconds | share |", "|---|---:|---:|",
            f"| **total** | **{b['seconds']:.1f}** | 100% |"]
    for k, v in sorted(b["parts"].items(), key=lambda kv: -kv[1]):
        out.append(f"| {k} | {v:.2f} | {v / b['seconds']:.0%} |")
    speed = (f"Embedding throughput: {b['chunks_per_s']:.1f} chunks/s ({b['embedded']} chunks embedded). "
             if b["embedded"] else "No chunk needed embedding. ")
    out += ["", speed + f"Index type at this size: `{b['index_type']}`.", ""]

    return out, targets
