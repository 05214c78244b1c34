"""A note draft from one gap group: corpus-format Markdown, front matter pre-filled, what to write marked.

Every part the author must write is a `<<FILL: what to write>>` placeholder, and the validator refuses a note that
still holds one, so a draft cannot be added half-written. The group's questions are listed in a comment before
the first section (the parser ignores it; it is never shown to learners) as what the note must answer.
"""

from __future__ import annotations

import json
import re

from bot.insights.gaps import GapGroup
from bot.knowledge.notes import DISCIPLINES, DRAFT_PLACEHOLDER

PLACEHOLDER = re.compile(re.escape(DRAFT_PLACEHOLDER) + r":[^>]*>>")
MAX_LISTED = 25


def fill(hint: str) -> str:
    return f"{DRAFT_PLACEHOLDER}: {hint}>>"


def _safe(text: str, limit: int = 300) -> str:
    """Learner text made inert inside an HTML comment (no comment end, no placeholder marker), one line."""
    text = " ".join(text.split()).replace("--", "- -").replace("<<", "< <").replace(">>", "> >")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def draft_note(group: GapGroup, days: int) -> tuple[str, str]:
    """(file name, Markdown) of a note that would answer the group's questions, ready to complete."""
    discipline = group.discipline if group.discipline in DISCIPLINES else "deep_learning"
    topic = group.suggested_title
    candidates = ", ".join(f"{c.note_id} ({c.score:.2f})" for c in group.closest) or "none found"
    asked = "\n".join(f"       - {_safe(q)}" for q in group.questions[:MAX_LISTED])
    more = len(group.questions) - MAX_LISTED
    if more > 0:
        asked += f"\n       - … and {more} more"
    reasons = "\n".join(f"       - {_safe(r)}" for r in group.reasons) or "       - (none given)"
    quiz = "\n\n".join(
        f"{n}. {fill(f'question {n} about {topic}')}\n"
        f"   - [ ] {fill('a wrong option')}\n"
        f"   - [x] {fill('the right option')}\n"
        f"   - [ ] {fill('a wrong option')}\n"
        f"   - [ ] {fill('a wrong option')}\n\n"
        f"   Why: {fill('one line on why the right option is right')}"
        for n in (1, 2))
    text = f"""---
id: {group.suggested_id}
title: {json.dumps(group.suggested_title, ensure_ascii=False)}
discipline: {discipline}
aliases: []
# Closest existing notes (candidates for prerequisites, with cosine scores): {candidates}
prerequisites: []
level: core
summary: "{fill(f'one sentence saying what {topic} is')}"
---

<!-- Draft from the gap report: {group.size} question(s) of the last {days} days that the notes did not answer
     well ({group.refused} refused, {group.downvoted} answered and rated 👎).
     Check the suggested id, title and discipline; write every part marked FILL; add prerequisites if any;
     then `/corpus add` this file (or save it as corpus/{discipline}/{group.suggested_id}.md and run
     `studybot corpus check`).

     This note must answer:
{asked}

     What learners said was wrong (👎 reasons):
{reasons}
-->

## Intuition

{fill(f'the idea of {topic} in plain words, the picture a good teacher draws first')}

## Key formula

{fill('the central formula with every symbol explained (for a topic without one, rename this section to Key idea and state the principle precisely)')}

## Worked example

{fill('a small example with real numbers, worked to the end')}

## Why it matters for deep learning

{fill('where a practitioner meets this')}

## Check yourself

{quiz}
"""
    return f"{group.suggested_id}.md", text


__all__ = ["PLACEHOLDER", "draft_note", "fill"]
