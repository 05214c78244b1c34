"""Render Answer values for a terminal (rich)."""

from __future__ import annotations

from rich.console import Console, Group
from rich.markdown import Markdown
from rich.panel import Panel
from rich.text import Text

from bot.knowledge.notes import DISCIPLINE_LABELS
from bot.retrieval.answering import Answer


def print_answer(console: Console, answer: Answer) -> None:
    """A readable answer: the best explanations with sources, then next topics."""
    if not answer.answered:
        body = Text("That is not in my notes, so I won't guess.", style="bold yellow")
        if answer.closest:
            body.append("\nThe closest topics I do have: ", style="default")
            body.append(", ".join(t.title for t in answer.closest), style="cyan")
        console.print(Panel(body, title=f"❓ {answer.question}", title_align="left"))
        return
    parts = []
    for i, r in enumerate(answer.results):
        label = DISCIPLINE_LABELS.get(r.discipline, r.discipline)
        head = Text(f"{r.title}", style="bold cyan" if i == 0 else "bold")
        head.append(f"  · {label} · {r.heading} · score {r.score:.2f}", style="dim")
        parts += [head, Markdown(r.text), Text(f"source: {r.path}", style="dim italic"), Text("")]
    if answer.next_topics:
        parts.append(Text("Next topics", style="bold green"))
        for t in answer.next_topics:
            parts.append(Text(f"  • {t.title} ({DISCIPLINE_LABELS.get(t.discipline, t.discipline)}): {t.reason}"))
    console.print(Panel(Group(*parts), title=f"💡 {answer.question}", title_align="left"))


def print_eval(console: Console, file: str, n: int, threshold: float, reports: dict, curve: list | None,
               max_misses: int) -> None:
    """Evaluation tables: one row per retriever, then per discipline for the shipped one, then misses."""
    from rich.table import Table

    cols = ["hit@1", "hit@3", "mrr", "answer_rate", "off_topic_rejection"]
    table = Table(title=f"{file}: {n} questions, refusal threshold {threshold:.2f}")
    table.add_column("retriever")
    for c in cols:
        table.add_column(c, justify="right")
    for mode, rep in reports.items():
        d = rep.overall.as_dict()
        table.add_row(mode, *("-" if d[c] is None else f"{d[c]:.3f}" for c in cols))
    console.print(table)
    shipped = reports.get("hybrid") or next(iter(reports.values()))
    per = Table(title=f"per discipline ({shipped.mode})")
    per.add_column("discipline")
    per.add_column("n", justify="right")
    for c in cols:
        per.add_column(c, justify="right")
    for disc, scores in sorted(shipped.per_discipline.items()):
        d = scores.as_dict()
        per.add_row(disc, str(d["on_topic"] or d["off_topic"]), *("-" if d[c] is None else f"{d[c]:.3f}" for c in cols))
    console.print(per)
    if curve:
        sweep = Table(title="refusal threshold trade-off (hybrid)")
        for c in ("threshold", "off_topic_rejection", "answer_rate"):
            sweep.add_column(c, justify="right")
        for row in curve:
            sweep.add_row(f"{row['threshold']:.2f}", f"{row['off_topic_rejection']:.3f}", f"{row['answer_rate']:.3f}")
        console.print(sweep)
    for mode, rep in reports.items():
        if not rep.misses:
            continue
        console.print(f"[bold]{mode}: {len(rep.misses)} miss(es)[/]")
        for m in rep.misses[:max_misses]:
            console.print(f"  line {m['line']}: {m['q'][:90]!r} → got {m['got']}, "
                          f"expected {m.get('expected', 'a refusal')}, rank {m.get('rank')}, score {m['score']}",
                          highlight=False)


def print_eval_summary(console: Console, results: list[tuple[str, dict]]) -> None:
    """One table with every question set side by side, per retriever."""
    from rich.table import Table

    cols = ["hit@1", "hit@3", "mrr", "answer_rate", "off_topic_rejection"]
    table = Table(title="all question sets, side by side")
    table.add_column("set")
    table.add_column("retriever")
    for c in cols:
        table.add_column(c, justify="right")
    for file, reports in results:
        for mode, rep in reports.items():
            d = rep.overall.as_dict()
            table.add_row(file, mode, *("-" if d[c] is None else f"{d[c]:.3f}" for c in cols))
    console.print(table)
