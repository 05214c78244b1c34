"""The SQL of the gap report: a server's refused questions and 👎-rated answers since a moment, with reasons.

Scoped by `guild_id`; only the operators' report (`studybot gaps` without `--guild`) reads every server, and its
rows are anonymised by the service before anything leaves it. Forgotten questions (empty text) are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.study.storage import Store, from_db_time, to_db_time


@dataclass(frozen=True)
class GapRow:
    """One logged question the notes did not answer well: refused, or answered and then rated 👎."""

    question_id: int
    guild_id: int
    question: str
    refused: bool
    downvotes: int
    note_id: str | None  # the note that answered (for a 👎)
    reasons: tuple[str, ...]
    at: datetime


async def gap_rows(store: Store, guild_id: int | None, since: datetime, limit: int) -> list[GapRow]:
    """The newest `limit` refused or 👎-rated questions since `since`, of one server (None: every server)."""
    at = to_db_time(since)
    scope, args = ("AND q.guild_id = ?", [guild_id]) if guild_id is not None else ("", [])
    down = ("SELECT COUNT(*) FROM answer_feedback f WHERE f.guild_id = q.guild_id AND f.question_id = q.id "
            "AND f.helpful = 0 AND f.at >= ?")
    async with store.read() as tx:
        rows = await tx.fetch(
            f"SELECT q.id, q.guild_id, q.question, q.answered, q.best_note_id, q.at, ({down}) AS down "
            f"FROM question_log q WHERE q.question <> '' {scope} "
            f"AND ((q.answered = 0 AND q.at >= ?) OR ({down}) > 0) ORDER BY q.id DESC LIMIT ?",
            at, *args, at, at, limit)
        reasons: dict[int, list[str]] = {}
        ids = [r["id"] for r in rows]
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            found = await tx.fetch(
                "SELECT question_id, reason FROM answer_feedback WHERE helpful = 0 AND at >= ? "
                "AND reason IS NOT NULL AND reason <> '' "
                f"AND question_id IN ({', '.join('?' * len(part))}) ORDER BY id", at, *part)
            for question_id, reason in found:
                reasons.setdefault(question_id, []).append(reason)
    out = [GapRow(r["id"], r["guild_id"], r["question"], not r["answered"], r["down"],
                  r["best_note_id"] if r["answered"] else None, tuple(reasons.get(r["id"], ())),
                  from_db_time(r["at"]))  # type: ignore[arg-type]
           for r in rows]
    return sorted(out, key=lambda row: row.question_id)
