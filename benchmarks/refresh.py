"""Section `refresh` (report section 3): `AnswerService.refresh()` after editing one note vs a no-change refresh."""

from __future__ import annotations

import re
import shutil
import statistics
import time
from pathlib import Path

from benchmarks.harness import instrument, log, make_settings
from benchmarks.report_writer import verdict

KEY = "refresh"
TARGET_REFRESH_S = 1.0  # one changed note


def edit_note(path: Path, n: int) -> None:
    """Change one sentence of the first explanation paragraph (the note stays valid)."""
    text = path.read_text()
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("## "))
    j = next(i for i in range(start + 1, len(lines)) if re.match(r"[A-Z][a-z]", lines[i]))
    lines[j] = re.sub(r"\s*\(benchmark edit \d+\)$", "", lines[j]) + f" (benchmark edit {n})"
    path.write_text("\n".join(lines))


def bench_refresh(work: Path, corpus_src: Path, built_index: Path, embedder, reps: int) -> dict:
    from bot.retrieval.answering import AnswerService

    corpus = work / "refresh-corpus"
    shutil.copytree(corpus_src, corpus)
    index_dir = work / "refresh-index"
    if (built_index / "cache").is_dir():  # the first build here is set-up, not the measurement
        shutil.copytree(built_index / "cache", index_dir / "cache")
    svc = AnswerService(make_settings(corpus, index_dir), embedder=embedder)
    t = time.perf_counter()
    svc.ensure_ready()
    setup = time.perf_counter() - t
    notes = list(svc.corpus.notes.values())
    targets = [corpus / n.discipline / f"{n.id}.md" for n in notes[len(notes) // 3::max(1, len(notes) // 7)]][:reps]
    log(f"refresh: {len(svc.state.retriever.chunks)} chunks; {reps} no-change and {reps} one-note refreshes")
    noop, edited = [], []
    svc.refresh()  # warm-up
    for i in range(reps):
        with instrument(embedder) as parts:
            t = time.perf_counter()
            rep = svc.refresh()
            noop.append({"seconds": time.perf_counter() - t, "parts": dict(parts), "embedded": rep.build.embedded,
                         "changed": len(rep.build.changed)})
        edit_note(targets[i], i + 1)
        with instrument(embedder) as parts:
            t = time.perf_counter()
            rep = svc.refresh()
            edited.append({"seconds": time.perf_counter() - t, "parts": dict(parts), "embedded": rep.build.embedded,
                           "changed": len(rep.build.changed), "note": targets[i].stem})
        svc.answer("what is this note about?")  # the new generation serves
    labels = sorted({k for r in noop + edited for k in r["parts"]})

    def med_parts(rows):
        out = {k: statistics.median(r["parts"].get(k, 0.0) for r in rows) for k in labels}
        out["other (manifest, chunks.jsonl, fsync, swap)"] = max(
            0.0, statistics.median(r["seconds"] for r in rows) - sum(out.values()))
        return out

    return {
        "setup_build_s": setup, "chunks": len(svc.state.retriever.chunks), "notes": len(svc.corpus),
        "noop_s": statistics.median(r["seconds"] for r in noop),
        "edit_s": statistics.median(r["seconds"] for r in edited),
        "edit_max_s": max(r["seconds"] for r in edited),
        "noop_parts": med_parts(noop), "edit_parts": med_parts(edited), "noop": noop, "edited": edited,
    }


def render(sec: dict, res: dict) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Report section 3."""
    rf = sec
    out: list[str] = []
    targets: list[tuple[str, str, str]] = []
    ok = rf["edit_s"] < TARGET_REFRESH_S
    out += ["## 3. Single-note refresh", "",
            f"A copy of the corpus ({rf['notes']} notes, {rf['chunks']} chunks) and its own index folder (built first "
            f"in {rf['setup_build_s']:.1f} s with the embedding cache from the build above; set-up, not measured). "
            f"Then, {len(rf['edited'])} times: `AnswerService.refresh()` with nothing changed (baseline), then one "
            "note's first explanation paragraph edited and `AnswerService.refresh()` timed.", "",
            "| | median | max |", "|---|---:|---:|",
            f"| baseline: refresh, nothing changed | {rf['noop_s']:.2f} s | {max(r['seconds'] for r in rf['noop']):.2f} s |",
            f"| **refresh after one note changed** | **{rf['edit_s']:.2f} s** | {rf['edit_max_s']:.2f} s |", "",
            "Edited notes: " + ", ".join(f"`{r['note']}` ({r['embedded']} chunk(s) re-embedded, {r['seconds']:.2f} s)"
                                         for r in rf["edited"]) + ".", "",
            "Where a refresh's time goes (median seconds per part):", "",
            "| part | nothing changed | one note changed |", "|---|---:|---:|"]
    for k in sorted(rf["edit_parts"], key=lambda k: -rf["edit_parts"][k]):
        out.append(f"| {k} | {rf['noop_parts'].get(k, 0):.3f} | {rf['edit_parts'][k]:.3f} |")
    out.append("")
    why = ""
    if not ok:
        top = sorted(((k, v) for k, v in rf["edit_parts"].items()), key=lambda kv: -kv[1])[:3]
        why = " Most of it: " + "; ".join(f"{k} {v:.2f} s" for k, v in top) + "."
    targets.append(("one changed note refreshed in < 1 s", f"{rf['edit_s']:.2f} s", verdict(ok) + why))

    return out, targets
