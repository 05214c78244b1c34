"""Memory of one server's own index (server notes), measured, and the time to add one note.

    .venv/bin/python benchmarks/server_memory.py [--servers 8] [--sizes 10,50,200] [--cache index/cache]

Builds the base from a copy of the shipped corpus, then for each size gives `--servers` servers that many notes
(shipped notes re-used as server notes, under new ids so they do not override anything) and builds their
indexes. Vectors are seeded from `index/cache` when present, so the figure is memory, not embedding time.
Reports, per server: resident memory growth (RSS, /proc) divided by the number of servers (the server's
chunks, BM25, speller words, merged view of the notes, FAISS, and its vectors in the shared vector cache), and
the FAISS vectors alone. Prints a Markdown table for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.config import Settings  # noqa: E402
from bot.knowledge.overlay import ServerNotes  # noqa: E402
from bot.retrieval.answering import AnswerService  # noqa: E402
from bot.retrieval.index import EmbeddingCache  # noqa: E402


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", type=int, default=8)
    parser.add_argument("--sizes", default="10,50,200")
    parser.add_argument("--cache", type=Path, default=REPO / "index" / "cache",
                        help="an embedding cache to seed from (default: index/cache)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="server-memory-"))
    shutil.copytree(REPO / "corpus", tmp / "corpus")
    if args.cache.is_dir():
        shutil.copytree(args.cache, tmp / "index" / "cache")
    settings = Settings(corpus_dir=tmp / "corpus", index_dir=tmp / "index", data_dir=tmp / "data", _env_file=None)
    service = AnswerService(settings)
    service.ensure_ready()
    base = service.corpus
    seeded = EmbeddingCache(tmp / "index" / "cache", service.embedder.name).load()
    servers = service.servers
    servers._vectors = dict(seeded)  # every chunk text the base knows: no embedding below
    service.embedder.encode(["warm up"])

    rows = []
    guild = 1
    for size in [int(s) for s in args.sizes.split(",")]:
        picked = list(base.notes.values())[:size]
        gc.collect()
        before_rss = rss_bytes()
        faiss_bytes = chunks = 0
        for _ in range(args.servers):
            ids = {n.id: f"{n.id}-s{guild}" for n in picked}
            notes = {ids[n.id]: replace(n, id=ids[n.id], prerequisites=tuple(ids.get(p, p) for p in n.prerequisites))
                     for n in picked}
            server = ServerNotes(guild, notes)
            own = servers.set_notes(server, service.state.retriever)
            servers.view(guild, base, service.state.retriever)
            faiss_bytes += own.retriever.loaded.faiss_index.ntotal * own.retriever.loaded.faiss_index.d * 4
            chunks += len(own.retriever.chunks)
            guild += 1
        gc.collect()
        rss = rss_bytes() - before_rss
        rows.append((size, chunks // args.servers, rss / args.servers, faiss_bytes / args.servers))

    # Adding one note to a server of 50: only its chunks are embedded.
    server = servers.notes_of(guild - 1)
    extra = replace(next(iter(base.notes.values())), id="one-more-note", content_hash="fresh")
    extra = replace(extra, summary=extra.summary + " (edited for the benchmark)")
    servers._vectors = {k: v for k, v in servers._vectors.items()}
    timings = []
    for i in range(3):
        note = replace(extra, id=f"one-more-note-{i}", summary=f"{extra.summary} {i} {time.time()}")
        started = time.perf_counter()
        own = servers.set_notes(server.with_note(note), service.state.retriever)
        timings.append((time.perf_counter() - started, own.embedded))

    mib = 1024 * 1024
    print(f"base: {len(base.notes)} notes; {args.servers} servers per size; load average {os.getloadavg()}")
    print("| server notes | chunks | memory per server (RSS growth) | of which FAISS vectors |")
    print("|---:|---:|---:|---:|")
    for size, chunks, rss, fa in rows:
        print(f"| {size} | {chunks} | {rss / mib:.2f} MiB | {fa / mib:.2f} MiB |")
    print("one note added to a server: " + ", ".join(f"{t:.2f} s ({e} chunks embedded)" for t, e in timings))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
