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


def _service(progress: bool = True):
    """The answering service, ready: builds the index first when there is none (or it is stale)."""
    from bot.retrieval.answering import AnswerService

    service = AnswerService(_settings())
    if not service.store.exists():
        err.print("[dim]No index yet: building one (first run only)…[/]")
    report = service.ensure_ready(progress=progress)
    if report is not None:
        err.print(f"[dim]index built: {report.summary}[/]")
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
