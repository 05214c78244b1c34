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
