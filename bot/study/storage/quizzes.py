"""Queries of quiz runs, their questions and the answers (attempts) to them.

An answer counts once: `quiz_attempts` is unique per (run, user, note, item), and the attempt, its review card
and the study event are written in one transaction. The card is updated under `tx.lock` on that card, so two
processes recording answers of one learner to one item (two runs at once) apply SM-2 one after the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bot.study.models import Attempt, CardState, RunKind, RunQuestion, RunRecord
from bot.study.storage.backend import Backend, Row, Tx, db_time, from_db_time, to_db_time
from bot.study.storage.progress import insert_event
from bot.study.storage.reviews import fetch_card, put_card


def attempt_row(r: Row) -> Attempt:
    return Attempt(user_id=r["user_id"], note_id=r["note_id"], item_index=r["item_index"], correct=bool(r["correct"]),
                   chosen=r["chosen"], at=db_time(r["at"]), run_id=r["run_id"])


async def fetch_run(tx: Tx, guild_id: int, run_id: int) -> RunRecord | None:
    r = await tx.fetchrow("SELECT * FROM quiz_runs WHERE guild_id = ? AND id = ?", guild_id, run_id)
    if r is None:
        return None
    qs = await tx.fetch("SELECT * FROM quiz_run_questions WHERE run_id = ? ORDER BY position", run_id)
    return RunRecord(id=r["id"], guild_id=r["guild_id"], kind=r["kind"], started_by=r["started_by"], scope=r["scope"],
                     channel_id=r["channel_id"], seed=r["seed"], status=r["status"], created_at=db_time(r["created_at"]),
                     finished_at=from_db_time(r["finished_at"]),
                     questions=tuple(RunQuestion(q["position"], q["note_id"], q["item_index"], q["question"])
                                     for q in qs))


class QuizQueries:
    db: Backend

    async def create_run(self, guild_id: int, kind: RunKind, started_by: int, scope: str | None,
                         channel_id: int | None, seed: int, questions: Sequence[tuple[str, int, str]],
                         at: datetime) -> RunRecord:
        """Persist a quiz run and its questions ((note_id, item_index, question text), in order)."""
        async with self.db.transaction() as tx:
            run_id = await tx.fetchval(
                "INSERT INTO quiz_runs (guild_id, kind, started_by, scope, channel_id, seed, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                guild_id, kind, started_by, scope, channel_id, seed, to_db_time(at),
            )
            await tx.executemany(
                "INSERT INTO quiz_run_questions (run_id, position, note_id, item_index, question) "
                "VALUES (?, ?, ?, ?, ?)",
                [(run_id, pos, note_id, index, text) for pos, (note_id, index, text) in enumerate(questions)],
            )
            run = await fetch_run(tx, guild_id, run_id)
        assert run is not None
        return run

    async def run(self, guild_id: int, run_id: int) -> RunRecord | None:
        """A persisted run of this server, with its questions."""
        async with self.db.read() as tx:
            return await fetch_run(tx, guild_id, run_id)

    async def finish_run(self, guild_id: int, run_id: int, at: datetime) -> bool:
        """Close a run to new answers; False when it was already finished."""
        async with self.db.transaction() as tx:
            return await tx.execute("UPDATE quiz_runs SET status = 'finished', finished_at = ? WHERE guild_id = ? "
                                    "AND id = ? AND status = 'open'", to_db_time(at), guild_id, run_id) > 0

    async def run_attempts(self, guild_id: int, run_id: int, user_id: int | None = None) -> list[Attempt]:
        """Answers recorded in a run (optionally one user's), in the order they arrived."""
        where, args = "guild_id = ? AND run_id = ?", [guild_id, run_id]
        if user_id is not None:
            where += " AND user_id = ?"
            args.append(user_id)
        async with self.db.read() as tx:
            rows = await tx.fetch(f"SELECT * FROM quiz_attempts WHERE {where} ORDER BY id", *args)
        return [attempt_row(r) for r in rows]

    async def record_answer(self, guild_id: int, run_id: int, user_id: int, note_id: str, item_index: int,
                            chosen: int, correct: bool, at: datetime, local_day: str,
                            schedule: Callable[[CardState | None], CardState]) -> tuple[Attempt, bool]:
        """Record an answer, update its review card and progress, all in one transaction.

        Returns (the attempt, True) when new; (the first recorded attempt, False) when the user had already
        answered this question of this run, in which case nothing changes.
        `schedule` maps the card's current state (None when new) to its next one.
        """
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(
                "INSERT INTO quiz_attempts (guild_id, run_id, user_id, note_id, item_index, chosen, correct, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, user_id, note_id, item_index) DO NOTHING "
                "RETURNING *",
                guild_id, run_id, user_id, note_id, item_index, chosen, int(correct), to_db_time(at),
            )
            if row is None:
                existing = await tx.fetchrow("SELECT * FROM quiz_attempts WHERE guild_id = ? AND run_id = ? AND "
                                             "user_id = ? AND note_id = ? AND item_index = ?",
                                             guild_id, run_id, user_id, note_id, item_index)
                assert existing is not None
                return attempt_row(existing), False
            await tx.lock(f"card:{guild_id}:{user_id}:{note_id}:{item_index}")
            card = await fetch_card(tx, guild_id, user_id, note_id, item_index)
            await put_card(tx, guild_id, user_id, note_id, item_index, schedule(card), at)
            await insert_event(tx, guild_id, user_id, note_id, "quizzed", at, local_day)
            return attempt_row(row), True

    async def attempts(self, guild_id: int, user_id: int | None = None, since: datetime | None = None,
                       group_id: int | None = None) -> list[Attempt]:
        """Answers in a server, oldest first: of one user, of a group's members, since a moment."""
        where, args = _attempt_filter(guild_id, since, group_id, user_id)
        async with self.db.read() as tx:
            rows = await tx.fetch(f"SELECT a.* FROM quiz_attempts a WHERE {where} ORDER BY a.id", *args)
        return [attempt_row(r) for r in rows]

    async def correct_counts(self, guild_id: int, since: datetime | None = None, group_id: int | None = None,
                             limit: int = 10) -> list[tuple[int, int]]:
        """(user_id, correct answers) best first, ties by user id; only users with at least one."""
        where, args = _attempt_filter(guild_id, since, group_id)
        async with self.db.read() as tx:
            rows = await tx.fetch(f"SELECT a.user_id, COUNT(*) AS n FROM quiz_attempts a "
                                  f"WHERE {where} AND a.correct = 1 "
                                  "GROUP BY a.user_id ORDER BY n DESC, a.user_id LIMIT ?", *args, limit)
        return [(r[0], int(r[1])) for r in rows]


def _attempt_filter(guild_id: int, since: datetime | None, group_id: int | None,
                    user_id: int | None = None) -> tuple[str, list]:
    """The WHERE clause (over `quiz_attempts a`) and its arguments: a server, and optionally a user, a start
    moment and a group's members."""
    where, args = ["a.guild_id = ?"], [guild_id]
    if user_id is not None:
        where.append("a.user_id = ?")
        args.append(user_id)
    if since is not None:
        where.append("a.at >= ?")
        args.append(to_db_time(since))
    if group_id is not None:
        where.append("a.user_id IN (SELECT user_id FROM group_members WHERE guild_id = ? AND group_id = ?)")
        args += [guild_id, group_id]
    return " AND ".join(where), args
