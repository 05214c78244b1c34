"""The `studybot` command line. It calls the same services as the Discord cogs."""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, BinaryIO, Optional

import typer
from rich.console import Console
from rich.markup import escape

from bot.errors import InvalidInput, StudybotError

app = typer.Typer(help="studybot: a study assistant for deep-learning learners.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
corpus_app = typer.Typer(help="Check and describe the corpus of notes.", no_args_is_help=True)
index_app = typer.Typer(help="Build the search index.", no_args_is_help=True)
db_app = typer.Typer(help="The bot's database (STUDYBOT_DATABASE).", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")
app.add_typer(index_app, name="index")
app.add_typer(db_app, name="db")


def _register_server_notes() -> None:
    from bot.cli_server_notes import server_notes_app

    app.add_typer(server_notes_app, name="server-notes")


_register_server_notes()

out = Console()
err = Console(stderr=True)


def _settings():
    from bot.config import Settings

    return Settings()


@corpus_app.command("check")
def corpus_check(
    path: Annotated[Optional[Path], typer.Argument(help="Corpus folder, one discipline folder or one note")] = None,
) -> None:
    """Validate notes; print every problem as path:line: message. Loads no model."""
    from bot.knowledge.corpus import check_corpus, corpus_root_for, display_path

    settings = _settings()
    target = Path(path) if path is not None else settings.corpus_dir
    if not target.exists():
        raise StudybotError(f"No such file or folder: '{target}'.")
    root = corpus_root_for(target)
    report = check_corpus(root, settings.note_limits)
    problems = report.problems
    if target.resolve() != root.resolve():
        prefix = display_path(target.resolve())
        problems = [p for p in problems if p.path == prefix or p.path.startswith(prefix.rstrip("/") + "/")]
    for p in [*problems, *report.warnings]:
        print(p)
    n_notes = len(report.notes)
    if problems:
        print(f"{len(problems)} problem(s) in {report.files} file(s).")
        raise typer.Exit(1)
    print(f"ok: {n_notes} notes in {report.files} file(s), no problems.")


@corpus_app.command("docs")
def corpus_docs(
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the coverage table")] = Path("docs/CORPUS.md"),
) -> None:
    """Regenerate docs/CORPUS.md (coverage per discipline and level) from the corpus."""
    from bot.knowledge.corpus import load_corpus
    from bot.knowledge.coverage import coverage_markdown

    settings = _settings()
    corpus = load_corpus(settings.corpus_dir, settings.note_limits)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(coverage_markdown(corpus) + "\n", encoding="utf-8")
    out.print(f"wrote {out_file} ({len(corpus)} notes)")


def _service(progress: bool = True):
    """The answering service, ready: builds the index first when there is none (or it is stale)."""
    from bot.retrieval.answering import AnswerService

    service = AnswerService(_settings())
    if not service.store.exists():
        err.print("[dim]No index yet: building one (first run only)…[/]")
    report = service.ensure_ready(progress=progress)
    if report is not None:
        err.print(f"[dim]index built: {report.summary}[/]")
    if service.corpus_problems:
        err.print(f"[yellow]warning:[/] the corpus has {len(service.corpus_problems)} problem(s) "
                  "(run 'studybot corpus check'); answering from the last good index.")
    return service


@index_app.command("build")
def index_build() -> None:
    """Build or refresh the index (only changed notes are re-embedded)."""
    from bot.retrieval.answering import AnswerService

    service = AnswerService(_settings())
    report = service.refresh(progress=True).build
    manifest = service.state.loaded.manifest
    out.print(f"index: {manifest.chunk_count} chunks from {len(service.corpus)} notes, model {manifest.model}, "
              f"{manifest.index_type}")
    out.print(report.summary)


# A stdin line longer than this is refused without ever being held whole (questions are capped far lower).
MAX_STDIN_LINE_BYTES = 64 * 1024
SHOWN_BAD_LINE_CHARS = 200
ASK_BATCH = 64


def _stdin_lines(stream: BinaryIO, limit: int = MAX_STDIN_LINE_BYTES) -> Iterator[tuple[str, str | None]]:
    """Each line of a byte stream as (text, None), or (what to echo, why it is not a question)."""
    number = 0
    while raw := stream.readline(limit + 1):
        number += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            while (rest := stream.readline(limit)) and not rest.endswith(b"\n"):
                pass  # skip to the end of the line, a piece at a time
            shown = raw[:SHOWN_BAD_LINE_CHARS].decode("utf-8", errors="replace")
            yield shown, f"line {number} is longer than {limit:,} bytes; a question must be under that"
            continue
        raw = raw.removesuffix(b"\n").removesuffix(b"\r")
        try:
            yield raw.decode("utf-8"), None
        except UnicodeDecodeError as exc:
            shown = raw[:SHOWN_BAD_LINE_CHARS * 4].decode("utf-8", errors="replace")[:SHOWN_BAD_LINE_CHARS]
            yield shown, f"line {number} is not valid UTF-8 ({exc.reason} at byte {exc.start})"


def _answer_isolated(service, lines: list[tuple[str, str | None]], top: int | None) -> list:
    """An Answer or an exception per line, in order: one bad line never costs another its answer."""
    results: list = [None] * len(lines)
    pending = []
    for i, (text, problem) in enumerate(lines):
        try:
            if problem is not None:
                raise InvalidInput(problem)
            service.check_question(text)
            pending.append(i)
        except Exception as exc:  # noqa: BLE001 - isolated per line and reported on that line
            results[i] = exc
    for i, answer in zip(pending, _answer_bisecting(service, [lines[i][0] for i in pending], top)):
        results[i] = answer
    return results


def _answer_bisecting(service, questions: list[str], top: int | None) -> list:
    """Answer in one batch; if the batch fails, answer each half, down to the single failing question."""
    if not questions:
        return []
    try:
        return service.answer_many(questions, max_notes=top)
    except Exception as exc:  # noqa: BLE001 - any failure, not only studybot's, stays on its own line
        if len(questions) == 1:
            return [exc]
        mid = len(questions) // 2
        return _answer_bisecting(service, questions[:mid], top) + _answer_bisecting(service, questions[mid:], top)


def _error_text(exc: Exception) -> str:
    return str(exc) if isinstance(exc, StudybotError) else f"internal error ({type(exc).__name__}: {exc})"


@app.command()
def ask(
    questions: Annotated[list[str], typer.Argument(help="The question(s); '-' reads one question per line from stdin")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per question")] = False,
    top: Annotated[Optional[int], typer.Option(min=1, max=10, help="How many notes to show")] = None,
) -> None:
    """Answer questions from the notes, with suggested next topics.

    With '-' and --json, every stdin line gets exactly one JSON line, in order: an answer, or an object with
    "error" for a blank, oversized, non-UTF-8 or failing line.
    """
    from bot.render_text import print_answer

    from_stdin = questions == ["-"]
    service = _service(progress=not as_json)
    if not from_stdin:
        lines: Iterator[tuple[str, str | None]] = iter([(" ".join(questions), None)])
    else:
        lines = _stdin_lines(sys.stdin.buffer)
        if not as_json:  # text mode has no line-for-line contract: skip blank lines
            lines = ((text, problem) for text, problem in lines if problem or text.strip())
    failed = False
    while batch := list(itertools.islice(lines, ASK_BATCH)):
        for (text, _), result in zip(batch, _answer_isolated(service, batch, top)):
            if not isinstance(result, Exception):
                _emit_json(result.to_json()) if as_json else print_answer(out, result)
            elif as_json:
                _emit_json({"question": text, "answered": False, "results": [], "next_topics": [],
                            "error": _error_text(result)})
            elif not from_stdin:
                raise result
            else:
                failed = True
                err.print(f"[bold red]error:[/] {escape(_error_text(result))}", highlight=False, soft_wrap=True)
        sys.stdout.flush()
    if failed:
        raise typer.Exit(1)


def _emit_json(obj: dict) -> None:
    """One JSON line, UTF-8 whatever the locale's encoding."""
    sys.stdout.flush()
    sys.stdout.buffer.write(json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n")
    sys.stdout.buffer.flush()


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply the missing migrations now (every bot process also does at start, under a lock)."""
    import asyncio

    from bot.study.storage import SCHEMA_VERSION, DatabaseUrl, Store

    url = _settings().database_url

    async def migrate() -> tuple[int, str]:
        async with await Store.open(url) as store:
            return await store.schema_version(), store.dialect

    version, dialect = asyncio.run(migrate())
    where = DatabaseUrl.parse(url).path or url.split("@")[-1].split("?")[0]  # no password in the output
    out.print(f"{dialect} database {where}: schema version {version} of {SCHEMA_VERSION}")


DEFAULT_EVAL_FILES = (Path("eval/dev.jsonl"), Path("eval/real.jsonl"))


@app.command("eval")
def eval_command(
    files: Annotated[list[Path], typer.Argument(help="JSONL files: {'q': ..., 'expected': [ids]} or "
                                                     "{'q': ..., 'off_topic': true}; default eval/dev.jsonl "
                                                     "and eval/real.jsonl")] = [],  # noqa: B006
    retriever: Annotated[list[str], typer.Option("--retriever", "-r", help="hybrid, dense, bm25 (repeatable)")] = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON")] = False,
    sweep: Annotated[bool, typer.Option("--sweep", help="Also print the refusal threshold trade-off")] = False,
    misses: Annotated[int, typer.Option(help="How many misses to list per retriever")] = 20,
) -> None:
    """Score retrievers on question sets, side by side: hit@1, hit@3, MRR, off-topic rejection, answer rate."""
    from bot.render_text import print_eval, print_eval_summary
    from bot.retrieval.evaluation import evaluate, load_eval_file, threshold_sweep
    from bot.retrieval.search import MODES

    modes = tuple(retriever) or MODES
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise StudybotError(f"Unknown retriever {', '.join(bad)}; choose from {', '.join(MODES)}.")
    files = list(files) or [f for f in DEFAULT_EVAL_FILES if f.exists()]
    if not files:
        raise StudybotError("No evaluation file given and none of eval/dev.jsonl, eval/real.jsonl found here.")
    service = _service(progress=not as_json)
    results = []
    for file in files:
        items = load_eval_file(file, set(service.corpus.notes))
        reports = evaluate(service, items, modes)
        curve = threshold_sweep(reports.get("hybrid") or evaluate(service, items, ("hybrid",))["hybrid"]) if sweep else None
        results.append((file, items, reports, curve))
    if as_json:
        print(json.dumps([{"file": str(file), "questions": len(items), "threshold": service.threshold,
                           "reports": [r.as_dict() for r in reports.values()], "sweep": curve}
                          for file, items, reports, curve in results], indent=1))
        return
    for file, items, reports, curve in results:
        print_eval(out, str(file), len(items), service.threshold, reports, curve, misses)
    if len(results) > 1:
        print_eval_summary(out, [(str(file), reports) for file, _, reports, _ in results])


@app.command()
def gaps(
    guild: Annotated[Optional[int], typer.Option(help="One server's report (its notes included); without it: "
                                                      "every server, anonymised, against the base corpus")] = None,
    days: Annotated[int, typer.Option(min=1, max=365, help="How far back to look")] = 30,
    min_count: Annotated[int, typer.Option("--min-count", min=1, help="Smallest group shown")] = 2,
    fmt: Annotated[str, typer.Option("--format", help="md, csv or json")] = "md",
) -> None:
    """Questions the notes could not answer well (refused or rated 👎), grouped by meaning, largest first."""
    import asyncio

    from bot.insights.formats import FORMATS, render

    if fmt not in FORMATS:
        raise StudybotError(f"Unknown format '{fmt}'; choose from {', '.join(FORMATS)}.")
    settings = _settings()
    service = _service(progress=False)

    async def main_async():
        from bot.curation import CurationService
        from bot.insights import GapService
        from bot.study import Store

        async with await Store.open(settings.database_url) as store:
            if guild is not None:
                await CurationService(store, service, settings).restore()  # the server's own notes, too
            return await GapService(store, service).report(guild, days, min_count)

    print(render(asyncio.run(main_async()), fmt), end="")


@app.command()
def purge() -> None:
    """Delete logged questions and feedback older than the retention period, and servers the bot left longer ago
    than the grace period (what the bot's daily task does)."""
    import asyncio

    from bot.privacy import PrivacyService
    from bot.study import Store

    settings = _settings()

    async def main_async():
        async with await Store.open(settings.database_url) as store:
            service = PrivacyService(store, settings.retention_days, settings.departed_guild_grace_days)
            return await service.purge_expired(), await service.purge_departed()

    purged, servers = asyncio.run(main_async())
    out.print(f"deleted {purged.questions} question(s) and {purged.feedback} feedback row(s) older than "
              f"{settings.retention_days} days; {len(servers)} server(s) left more than "
              f"{settings.departed_guild_grace_days} days ago")


TOKEN_HELP = (
    "No Discord token. Create an application and bot in the Discord Developer Portal (Applications → "
    "New Application → Bot → Reset Token), then put DISCORD_TOKEN=... in the environment or in a .env file "
    "here. See README, 'Run it on your server'."
)


def _token(settings) -> str:
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        raise StudybotError(TOKEN_HELP)
    return settings.discord_token.get_secret_value().strip()


@app.command()
def run() -> None:
    """Start the Discord bot (DISCORD_TOKEN from the environment or .env)."""
    import asyncio
    import logging

    import discord

    from bot.discord.app import build_services, create_bot

    settings = _settings()
    token = _token(settings)
    discord.utils.setup_logging(level=logging.INFO)

    async def main_async() -> None:
        services = await build_services(settings)
        bot = create_bot(settings, services)
        async with bot:
            await bot.start(token)

    try:
        asyncio.run(main_async())
    except discord.LoginFailure:
        raise StudybotError("Discord refused the token (DISCORD_TOKEN). Reset it in the Developer Portal.") from None
    except discord.PrivilegedIntentsRequired:
        raise StudybotError("Enable the Message Content intent for the bot in the Developer Portal "
                            "(Bot → Privileged Gateway Intents), then start again.") from None


@app.command()
def sync(
    guild: Annotated[Optional[int], typer.Option(help="Sync to this guild only (instant; for development)")] = None,
) -> None:
    """Register the slash commands with Discord (run once after install or after an upgrade). Loads no model."""
    import asyncio

    import discord

    from bot.discord.app import create_bot, sync_commands

    settings = _settings()
    token = _token(settings)
    guild = guild if guild is not None else settings.dev_guild_id

    async def main_async() -> int:
        # The commands are all the tree needs: no model, no index, no database.
        return await sync_commands(create_bot(settings, None), token, guild)

    try:
        n = asyncio.run(main_async())
    except discord.LoginFailure:
        raise StudybotError("Discord refused the token (DISCORD_TOKEN). Reset it in the Developer Portal.") from None
    where = f"guild {guild} (available now)" if guild else "all servers (may take up to an hour to appear)"
    out.print(f"synced {n} command(s) to {where}")


def main() -> None:
    """Console-script entry point: user errors become one clear message and exit code 1, never a traceback."""
    try:
        app()
    except StudybotError as exc:
        # soft_wrap: a `path:line: message` stays on one line whatever the terminal width.
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except OSError as exc:  # the disk, not a bug: a full, read-only or missing folder
        where = f" ('{exc.filename}')" if exc.filename else ""
        err.print(f"[bold red]error:[/] {escape(exc.strerror or str(exc))}{escape(where)}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
