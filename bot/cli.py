"""The `studybot` command line. It calls the same services as the Discord cogs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from bot.errors import StudybotError

app = typer.Typer(help="studybot: a study assistant for deep-learning learners.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
corpus_app = typer.Typer(help="Check and describe the corpus of notes.", no_args_is_help=True)
index_app = typer.Typer(help="Build the search index.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")
app.add_typer(index_app, name="index")

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

    target = Path(path) if path is not None else _settings().corpus_dir
    if not target.exists():
        raise StudybotError(f"No such file or folder: '{target}'.")
    root = corpus_root_for(target)
    report = check_corpus(root)
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

    corpus = load_corpus(_settings().corpus_dir)
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


@app.command()
def ask(
    questions: Annotated[list[str], typer.Argument(help="The question(s); '-' reads one question per line from stdin")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per question")] = False,
    top: Annotated[Optional[int], typer.Option(min=1, max=10, help="How many notes to show")] = None,
) -> None:
    """Answer questions from the notes, with suggested next topics."""
    from bot.render_text import print_answer

    if questions == ["-"]:
        questions = [line.strip() for line in sys.stdin if line.strip()]
    else:
        questions = [" ".join(questions)]
    service = _service(progress=not as_json)
    batch = 64
    for start in range(0, len(questions), batch):
        chunk = questions[start:start + batch]
        try:
            answers = service.answer_many(chunk, max_notes=top)
        except StudybotError:
            answers = []
            for q in chunk:  # isolate the bad line, answer the rest
                try:
                    answers.append(service.answer(q, max_notes=top))
                except StudybotError as exc:
                    answers.append(exc)
        for q, a in zip(chunk, answers):
            if isinstance(a, StudybotError):
                if not as_json:
                    raise a
                print(json.dumps({"question": q, "answered": False, "results": [], "next_topics": [],
                                  "error": str(a)}, ensure_ascii=False))
            elif as_json:
                print(json.dumps(a.to_json(), ensure_ascii=False))
            else:
                print_answer(out, a)


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
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
