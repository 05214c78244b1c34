"""Section `latency` (report section 1): warm `AnswerService.answer` p50/p99 vs the raw model forward pass."""

from __future__ import annotations

import statistics
import time

import numpy as np

from benchmarks.harness import log, ms, pct
from benchmarks.report_writer import verdict

KEY = "latency"
TARGET_LATENCY_RATIO = 1.3  # answer p50 / encode p50


def bench_latency(svc, qs: list[str], rounds: int) -> dict:
    log(f"latency: {len(qs)} questions x {rounds} rounds, interleaved with the raw encode baseline")
    emb = svc.embedder
    for q in qs[:10]:  # warm-up: tokenizer, torch kernels, BM25 caches
        emb.encode([q])
        svc.answer(q)
    enc, ans = [], []
    for r in range(rounds):
        for i, q in enumerate(qs):
            order = ("enc", "ans") if (i + r) % 2 == 0 else ("ans", "enc")  # alternate: no order bias
            for what in order:
                t = time.perf_counter()
                if what == "enc":
                    emb.encode([q])
                    enc.append(time.perf_counter() - t)
                else:
                    svc.answer(q)
                    ans.append(time.perf_counter() - t)
    # Breakdown: the same steps answer_many takes, timed one by one (BM25 scoring timed on its own, then
    # subtracted from rank(), which recomputes it, to get the fusion/passage part).
    stages = {k: [] for k in ("check", "encode", "faiss", "bm25", "fusion", "compose")}
    state = svc.state
    retr = state.retriever
    for q in qs:
        t0 = time.perf_counter()
        cq = svc.check_question(q)
        t1 = time.perf_counter()
        vec = emb.encode([cq])
        t2 = time.perf_counter()
        dense = retr.dense_chunks(vec)
        t3 = time.perf_counter()
        retr.lexical_scores(cq)
        t4 = time.perf_counter()
        hits = retr.rank(cq, vec[0], "hybrid", dense[0])
        t5 = time.perf_counter()
        svc._compose(svc.view(None), cq, hits, frozenset(), None)
        t6 = time.perf_counter()
        stages["check"].append(t1 - t0)
        stages["encode"].append(t2 - t1)
        stages["faiss"].append(t3 - t2)
        stages["bm25"].append(t4 - t3)
        stages["fusion"].append(max(0.0, (t5 - t4) - (t4 - t3)))
        stages["compose"].append(t6 - t5)
    vecs = emb.encode(qs)
    top = np.asarray([[h.score for h in row[:10]] for row in retr.dense_chunks(vecs, k=10)])
    return {
        "real_top1_cos_p50": float(np.median(top[:, 0])), "real_top10_cos_p50": float(np.median(top[:, -1])),
        "questions": len(qs), "rounds": rounds, "samples": len(ans),
        "encode_p50": pct(enc, 50), "encode_p99": pct(enc, 99), "encode_mean": statistics.fmean(enc),
        "answer_p50": pct(ans, 50), "answer_p99": pct(ans, 99), "answer_mean": statistics.fmean(ans),
        "ratio_p50": pct(ans, 50) / pct(enc, 50),
        "stages_p50": {k: pct(v, 50) for k, v in stages.items()},
        "stages_mean": {k: statistics.fmean(v) for k, v in stages.items()},
        "chunks": len(retr.chunks),
    }


def render(sec: dict, res: dict) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Report section 1."""
    lat = sec
    out: list[str] = []
    targets: list[tuple[str, str, str]] = []
    ok = lat["ratio_p50"] <= TARGET_LATENCY_RATIO
    sp = lat["stages_p50"]
    out += ["## 1. Warm answer latency", "",
            f"{lat['questions']} questions from `eval/dev.jsonl`, {lat['rounds']} rounds, {lat['samples']} samples per "
            f"method; `AnswerService.answer(q)` and the baseline `embedder.encode([q])` (the raw model forward pass) "
            f"alternate question by question over the same live index ({lat['chunks']} chunks), after 10 warm-up "
            "questions.", "",
            "| | p50 | p99 | mean |", "|---|---:|---:|---:|",
            f"| baseline: `embedder.encode([q])` | {ms(lat['encode_p50'])} | {ms(lat['encode_p99'])} | {ms(lat['encode_mean'])} |",
            f"| `AnswerService.answer(q)` | {ms(lat['answer_p50'])} | {ms(lat['answer_p99'])} | {ms(lat['answer_mean'])} |",
            f"| **ratio of p50s** | **{lat['ratio_p50']:.2f}x** | {lat['answer_p99'] / lat['encode_p99']:.2f}x | "
            f"{lat['answer_mean'] / lat['encode_mean']:.2f}x |", "",
            "Where an answer's time goes (per-stage p50 over the same questions, each stage timed alone):", "",
            "| stage | p50 | mean |", "|---|---:|---:|"]
    names = {"check": "check_question", "encode": "encode (model forward)", "faiss": "FAISS dense search (k=100)",
             "bm25": "BM25 scoring (tokenize + get_scores over all chunks)",
             "fusion": "fusion + per-note best passage (rank() minus BM25)", "compose": "compose (answer + next topics)"}
    for k, label in names.items():
        out.append(f"| {label} | {ms(sp[k])} | {ms(lat['stages_mean'][k])} |")
    overhead = sum(v for k, v in sp.items() if k != "encode")
    out += ["", f"Everything but the forward pass: {ms(overhead)} at p50, i.e. {overhead / sp['encode']:.0%} of it.", ""]
    why = "" if ok else (f" The non-model work adds {ms(lat['answer_p50'] - lat['encode_p50'])} at p50; the largest "
                         f"part is {max(((k, v) for k, v in sp.items() if k != 'encode'), key=lambda kv: kv[1])[0]}.")
    targets.append(("answer p50 <= 1.3x encode p50", f"{lat['ratio_p50']:.2f}x", verdict(ok) + why))

    return out, targets
