#!/usr/bin/env python
"""studybot speed benchmarks: one command, one run, every number next to a baseline measured in the same run.

    .venv/bin/python benchmarks/bench.py [--quick] [--out docs/BENCHMARKS.md] [--only SECTION,...]

Sections (see docs/BENCHMARKS.md for the latest report and benchmarks/README.md for what each one does):

  build    full index build of the shipped corpus (fresh index folder, no embedding cache)
  latency  warm AnswerService.answer p50/p99 vs the raw model forward pass for the same questions
  batcher  200 questions through MicroBatcher at once vs one by one, with an event-loop stall ticker
  refresh  AnswerService.refresh() after editing one note vs a refresh with nothing changed
  cold     `studybot ask --json` in a fresh process vs a process that only loads the model
  scale    synthetic 100k / 1M vectors: make_faiss_index's approximate index vs exact IndexFlatIP

The machine is shared and noisy, so every target is judged on a ratio against a baseline measured in the same
run, interleaved with it where possible. Nothing here is written outside a temporary folder except the report.

This file is only the command line and the run order; each section lives in its own module (full_build.py,
warm_answer.py, burst.py, refresh.py, cold_start.py, ann_search.py: the measurement and its report section), the
shared fixtures in harness.py, and the report frame and file writing in report_writer.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import ann_search, burst, cold_start, full_build, refresh, report_writer, warm_answer  # noqa: E402
from benchmarks.harness import REPO, STARTED, log, make_settings, questions, snapshot_corpus  # noqa: E402

# Report order; the keys are the section names of --only and of the raw results.
MODULES = (full_build, warm_answer, burst, refresh, cold_start, ann_search)
SECTIONS = tuple(m.KEY for m in MODULES)
RENDERERS = tuple((m.KEY, m.render) for m in MODULES)
HNSW_BUDGET_S = ann_search.HNSW_BUDGET_S


def render(res: dict, quick: bool, command: str) -> str:
    return report_writer.render(res, quick, command, RENDERERS)


def rerender(report: Path, command: str) -> None:
    """Render the report again from the raw results embedded in it (no new measurement)."""
    res = report_writer.read_raw(report.read_text())
    report_writer.write_report(report, render(res, res.get("quick", False), command))


def command_line(args, only: list[str]) -> str:
    """The command as the report's Reproduce section shows it."""
    return ".venv/bin/python benchmarks/bench.py" + (" --quick" if args.quick else "") + \
        (" --full-hnsw" if args.full_hnsw else "") + \
        (f" --only {','.join(only)}" if set(only) != set(SECTIONS) else "") + \
        (f" --out {os.path.relpath(args.out, REPO)}" if args.out.resolve() != (REPO / "docs" / "BENCHMARKS.md").resolve() else "")


def run_service_sections(res: dict, work: Path, only: list[str], quick: bool) -> None:
    """build, latency, batcher, refresh, cold: one corpus snapshot, one loaded model, one built index."""
    from bot.config import Settings
    from bot.retrieval.answering import AnswerService
    from bot.retrieval.embedding import Embedder

    corpus = snapshot_corpus(work / "corpus", quick)
    embedder = Embedder(Settings(_env_file=None).embedding_model)
    t = time.perf_counter()
    _ = embedder.model
    res["model_load_s"] = time.perf_counter() - t
    build, built_index = full_build.bench_build(work, corpus, embedder, quick)
    if "build" in only:
        res["build"] = build
    svc = AnswerService(make_settings(corpus, built_index), embedder=embedder)
    svc.ensure_ready()
    if "latency" in only:
        res["latency"] = warm_answer.bench_latency(svc, questions(20 if quick else 100), rounds=1 if quick else 2)
    if "batcher" in only:
        res["batcher"] = burst.bench_batcher(svc, questions(40 if quick else 200), rounds=1 if quick else 2)
    if "refresh" in only:
        res["refresh"] = refresh.bench_refresh(work, corpus, built_index, embedder, reps=2 if quick else 5)
    if "cold" in only:
        res["cold"] = cold_start.bench_cold(work, corpus, built_index, questions(1)[0], reps=1 if quick else 3)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a short smoke run: small sizes, no full build")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "BENCHMARKS.md", help="Markdown report path")
    ap.add_argument("--full-hnsw", action="store_true",
                    help=f"build the HNSW reference at 1M completely (~7 more minutes) instead of {HNSW_BUDGET_S:.0f} s + projection")
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    ap.add_argument("--rerender", action="store_true",
                    help="only re-render --out from the raw results it embeds (after a wording change)")
    args = ap.parse_args(argv)
    if args.rerender:
        rerender(args.out, ".venv/bin/python benchmarks/bench.py")
        return 0
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in only if s not in SECTIONS]
    if bad:
        ap.error(f"unknown section(s): {', '.join(bad)}")
    command = command_line(args, only)

    from bot.config import Settings

    res: dict = {"machine": report_writer.machine_info(), "quick": args.quick, "sections": only}
    log(f"machine: {res['machine']['cpu']}, {res['machine']['cores']} cores, load {res['machine']['load_avg_start']}")
    ann_threshold = Settings(_env_file=None).ann_threshold
    with tempfile.TemporaryDirectory(prefix="studybot-bench-") as tmp:
        if any(s in only for s in ("build", "latency", "batcher", "refresh", "cold")):
            run_service_sections(res, Path(tmp), only, args.quick)
        if "scale" in only:
            sizes = [100_000] if args.quick else [100_000, 1_000_000]
            res["scale"] = ann_search.bench_scale(sizes, n_queries=200 if args.quick else 1000, with_hnsw=not args.quick,
                                                  ann_threshold=ann_threshold, full_hnsw=args.full_hnsw)
    res["machine"]["load_avg_end"] = os.getloadavg()
    res["elapsed_s"] = time.perf_counter() - STARTED
    report_writer.write_report(args.out, render(res, args.quick, command))
    log(f"wrote {args.out} ({res['elapsed_s'] / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
