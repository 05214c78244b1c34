"""Write load from several bot processes on PostgreSQL, against one process on SQLite, in the same run.

    .venv/bin/python benchmarks/multiprocess_writes.py [--database postgresql://…] [--processes 4] [--concurrency 500]

Each of `--processes` processes opens its own Store (its own asyncpg pool) and fires `--concurrency` tasks at
once; each task records one quiz answer (attempt + SM-2 card + streak day, one transaction) and logs one
question, and every tenth task sends its answer a second time (a double click). Then the whole load (the
same number of answers and questions) runs again in one process on a SQLite file. Checks that no row is lost
or doubled (attempts, cards, question log, streak events) and reports throughput (writes per second) and
write latency (p50, p99) per configuration. The PostgreSQL server is STUDYBOT_TEST_DATABASE unless given;
each configuration gets a fresh schema. Prints a Markdown table for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.study.review import scheduler  # noqa: E402
from bot.study.storage import Store  # noqa: E402

GUILD = 4242
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DAY = "2026-03-02"
ITEMS = [("derivatives", i, f"question {i}") for i in range(4)]


async def _worker(url: str, proc: int, concurrency: int, run_ids: list[int]) -> list[float]:
    """One process: `concurrency` concurrent (answer + question log) pairs; returns each write's latency."""
    store = await Store.open(url)
    latencies: list[float] = []

    async def one(task: int) -> None:
        user = proc * 1_000_000 + task
        run_id = run_ids[task % len(run_ids)]
        note, item, _ = ITEMS[task % len(ITEMS)]
        for attempt in range(2 if task % 10 == 0 else 1):  # every tenth answer arrives twice
            started = time.perf_counter()
            await store.record_answer(GUILD, run_id, user, note, item, 0, task % 3 != 0, NOW, DAY,
                                      scheduler(task % 3 != 0, NOW))
            latencies.append(time.perf_counter() - started)
        started = time.perf_counter()
        await store.log_question(GUILD, user, f"question {proc}/{task}", True, note, NOW, DAY)
        latencies.append(time.perf_counter() - started)

    try:
        await asyncio.gather(*(one(t) for t in range(concurrency)))
    finally:
        await store.close()
    return latencies


def _process_main(url: str, proc: int, concurrency: int, run_ids: list[int], start, out) -> None:
    start.wait()
    out.put((proc, asyncio.run(_worker(url, proc, concurrency, run_ids))))


async def _prepare(url: str, runs: int) -> list[int]:
    async with await Store.open(url) as store:
        return [(await store.create_run(GUILD, "group", 1, None, None, 1, ITEMS, NOW)).id for _ in range(runs)]


async def _check(url: str, answers: int) -> dict[str, int]:
    async with await Store.open(url) as store, store.read() as tx:
        counts = {
            "attempts": await tx.fetchval("SELECT COUNT(*) FROM quiz_attempts WHERE guild_id = ?", GUILD),
            "distinct attempts": await tx.fetchval(
                "SELECT COUNT(*) FROM (SELECT DISTINCT run_id, user_id, note_id, item_index FROM quiz_attempts) d"),
            "cards": await tx.fetchval("SELECT COUNT(*) FROM review_cards WHERE guild_id = ?", GUILD),
            "questions": await tx.fetchval("SELECT COUNT(*) FROM question_log WHERE guild_id = ?", GUILD),
            "streak events": await tx.fetchval("SELECT COALESCE(SUM(events), 0) FROM daily_activity "
                                               "WHERE guild_id = ?", GUILD),
        }
    counts = {k: int(v) for k, v in counts.items()}
    expected = {"attempts": answers, "distinct attempts": answers, "cards": answers, "questions": answers,
                "streak events": 2 * answers}  # one 'quizzed' and one 'asked' event per task
    if counts != expected:
        raise SystemExit(f"rows lost or doubled: {counts} != {expected}")
    return counts


def run_config(url: str, processes: int, concurrency: int) -> dict:
    run_ids = asyncio.run(_prepare(url, 20))
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=_process_main, args=(url, p, concurrency, run_ids, start, out))
               for p in range(processes)]
    for w in workers:
        w.start()
    time.sleep(1.0)  # let every process import before the clock starts
    began = time.perf_counter()
    start.set()
    latencies = [lat for _ in workers for lat in out.get()[1]]
    wall = time.perf_counter() - began
    for w in workers:
        w.join()
        if w.exitcode:
            raise SystemExit(f"a worker failed ({w.exitcode})")
    counts = asyncio.run(_check(url, processes * concurrency))
    latencies.sort()
    return {"writes": len(latencies), "seconds": wall, "throughput": len(latencies) / wall,
            "p50_ms": 1000 * statistics.median(latencies), "p99_ms": 1000 * latencies[int(0.99 * len(latencies))],
            "counts": counts}


async def _pg_schema(server: str, action: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server)
    try:
        await conn.execute(f'{action} SCHEMA "{schema}"' + (" CASCADE" if action == "DROP" else ""))
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default=os.environ.get("STUDYBOT_TEST_DATABASE"))
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=500)
    args = parser.parse_args()
    if not args.database:
        raise SystemExit("give --database postgresql://… or set STUDYBOT_TEST_DATABASE (source .ci/postgres.sh)")
    from tests.databases import with_search_path

    rows = []
    configs = [("PostgreSQL", args.processes, args.concurrency), ("PostgreSQL", 1, args.processes * args.concurrency)]
    for name, processes, concurrency in configs:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg_schema(args.database, "CREATE", schema))
        try:
            rows.append((name, processes, concurrency,
                         run_config(with_search_path(args.database, schema), processes, concurrency)))
        finally:
            asyncio.run(_pg_schema(args.database, "DROP", schema))
    with tempfile.TemporaryDirectory() as tmp:
        total = args.processes * args.concurrency
        rows.append(("SQLite", 1, total, run_config(f"sqlite:///{tmp}/bench.sqlite3", 1, total)))
    print("| backend | processes × concurrent tasks | writes | seconds | writes/s | p50 write (ms) | p99 write (ms) "
          "| rows lost or doubled |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, processes, concurrency, r in rows:
        print(f"| {name} | {processes} × {concurrency} | {r['writes']} | {r['seconds']:.2f} | {r['throughput']:.0f} "
              f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | none ({r['counts']['attempts']} attempts, "
              f"{r['counts']['questions']} questions) |")


if __name__ == "__main__":
    main()
