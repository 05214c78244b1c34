"""Build small, valid corpora on disk for tests; each test can then break exactly one thing."""

from __future__ import annotations

from pathlib import Path

QUIZ = """1. Which option is right?
   - [ ] wrong one
   - [x] right one
   - [ ] another wrong one
   - [ ] a last wrong one

   Why: because the second option is the right one.

2. And which one here?
   - [x] this one
   - [ ] not this
   - [ ] nor this
   - [ ] nor that

   Why: the first option answers it.
"""


def note_text(
    note_id: str,
    discipline: str = "calculus",
    title: str | None = None,
    prerequisites: list[str] | None = None,
    aliases: list[str] | None = None,
    level: str = "core",
    summary: str | None = None,
    intuition: str = "A plain-words picture of the idea.",
    formula: str = "`y = f(x)` where every symbol is explained.",
    example: str = "With x = 2 we get y = 4.",
    why: str = "Practitioners meet this when training networks.",
    quiz: str = QUIZ,
) -> str:
    """The text of a valid note with the given fields."""
    title = title or note_id.replace("-", " ").capitalize()
    prereqs = prerequisites or []
    als = aliases or []
    return f"""---
id: {note_id}
title: "{title}"
discipline: {discipline}
aliases: [{", ".join(f'"{a}"' for a in als)}]
prerequisites: [{", ".join(prereqs)}]
level: {level}
summary: "{summary or f'What {title.lower()} is.'}"
---

## Intuition

{intuition}

## Key formula

{formula}

## Worked example

{example}

## Why it matters for deep learning

{why}

## Check yourself

{quiz}"""


def write_note(root: Path, note_id: str, discipline: str = "calculus", **fields) -> Path:
    """Write a valid note at root/<discipline>/<id>.md and return its path."""
    path = root / discipline / f"{note_id}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(note_text(note_id, discipline, **fields), encoding="utf-8")
    return path


def write_small_corpus(root: Path) -> Path:
    """Five related notes with real content, enough for retrieval tests with the real model."""
    write_note(root, "derivatives", "calculus", title="The derivative", level="intro",
               aliases=["slope", "rate of change"],
               intuition="The derivative measures how fast a function changes: the slope of its graph at a point.",
               example="For f(x) = x^2 the derivative is 2x, so at x = 3 the slope is 6.")
    write_note(root, "chain-rule", "calculus", title="The chain rule", prerequisites=["derivatives"],
               aliases=["derivative of a composition"],
               intuition="The chain rule differentiates nested functions: rates of change multiply along a chain.",
               formula="dy/dx = f'(g(x)) * g'(x) for y = f(g(x)).",
               why="Backpropagation applies the chain rule layer by layer to get the gradient of the loss.")
    write_note(root, "gradient-descent", "calculus", title="Gradient descent", prerequisites=["derivatives"],
               aliases=["GD", "going downhill"],
               intuition="Gradient descent minimises a loss by stepping against the gradient, downhill.",
               formula="w <- w - lr * grad L(w)",
               example="With L(w) = w^2, lr = 0.1 and w = 1, one step gives w = 0.8.")
    write_note(root, "backpropagation", "deep_learning", title="Backpropagation",
               prerequisites=["chain-rule", "gradient-descent"], aliases=["backprop"],
               intuition="Backpropagation computes the gradient of the loss with respect to every weight "
                         "by passing error signals backwards through the network.",
               why="Every neural network is trained with gradients computed by backpropagation.")
    write_note(root, "bayes-theorem", "statistics", title="Bayes' theorem", level="core",
               prerequisites=["derivatives"], aliases=["Bayes rule", "posterior"],
               intuition="Bayes' theorem updates a prior belief with evidence to give a posterior probability.",
               formula="P(H|E) = P(E|H) P(H) / P(E)",
               example="A test 90% sensitive for a disease of 1% prevalence with 5% false positives gives "
                       "a posterior of about 15%.")
    return root
