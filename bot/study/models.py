"""Plain values the study layer stores and returns. No behaviour beyond small derived properties."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

EventKind = Literal["asked", "opened", "quizzed"]
EVENT_KINDS: tuple[EventKind, ...] = ("asked", "opened", "quizzed")
SessionStatus = Literal["scheduled", "cancelled", "done"]
RunKind = Literal["solo", "group", "review"]
RunStatus = Literal["open", "finished"]
LeaderboardMetric = Literal["correct", "mastered"]


# --- Guild settings and moderation -------------------------------------------------------------------------


@dataclass(frozen=True)
class GuildConfig:
    """A server's study settings."""

    guild_id: int
    study_channel_ids: frozenset[int] = frozenset()
    moderator_role_id: int | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One moderator action, kept for accountability."""

    id: int
    guild_id: int
    actor_id: int
    action: str
    detail: str
    at: datetime


@dataclass(frozen=True)
class Audit:
    """What to write to the audit log alongside a moderator's change (same transaction)."""

    actor_id: int
    action: str
    detail: str


@dataclass(frozen=True)
class QuestionStats:
    """Questions asked in a server since a moment, and how the answers were rated."""

    total: int
    answered: int
    unanswered: int
    helpful: int
    not_helpful: int
    since: datetime | None = None


# --- Groups and sessions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """A study group of one server."""

    id: int
    guild_id: int
    name: str
    topic: str | None
    channel_id: int | None
    owner_id: int
    archived: bool
    created_at: datetime
    member_count: int = 0


@dataclass(frozen=True)
class Session:
    """A scheduled study session of a group. Times are aware UTC datetimes."""

    id: int
    guild_id: int
    group_id: int
    group_name: str
    starts_at: datetime
    remind_at: datetime
    topic: str | None
    created_by: int
    status: SessionStatus
    reminder_sent_at: datetime | None = None


@dataclass(frozen=True)
class GroupDetails:
    """A group with its members and upcoming sessions."""

    group: Group
    member_ids: tuple[int, ...]
    sessions: tuple[Session, ...]


@dataclass(frozen=True)
class SessionReminder:
    """A session reminder to post now: where, whom to mention, and how late it is (None when on time)."""

    session: Session
    channel_id: int | None
    member_ids: tuple[int, ...]
    late_by: timedelta | None = None
    claimed_at: datetime | None = None  # when this process claimed it (it is marked sent once posted)

    @property
    def is_late(self) -> bool:
        return self.late_by is not None

    @property
    def started(self) -> bool:
        """True when the session had already begun when the reminder was claimed (after downtime)."""
        at = self.claimed_at or self.session.reminder_sent_at
        return at is not None and at >= self.session.starts_at


# --- Reviews (spaced repetition) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CardState:
    """SM-2 state of one quiz item for one learner."""

    due_at: datetime
    repetitions: int = 0
    interval_days: int = 0
    ease: float = 2.5
    lapses: int = 0
    last_reviewed_at: datetime | None = None


@dataclass(frozen=True)
class ReviewSummary:
    """How many review cards a learner has and how many are due."""

    due_now: int
    total: int
    next_due_at: datetime | None
    reminders_enabled: bool
    reminder_hour: int | None = None
    relearning: int = 0  # of the due cards, those missed lately and in their short relearning step


@dataclass(frozen=True)
class ReviewReminder:
    """A daily DM to send: this learner has cards due in this server."""

    guild_id: int
    user_id: int
    due: int
    local_day: date


@dataclass(frozen=True)
class ReviewReminderCandidate:
    """Storage row: an opted-in learner, their timezone and what was last sent."""

    guild_id: int
    user_id: int
    hour: int
    timezone: str | None
    last_sent_on: str | None
    due: int


# --- Quizzes -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunQuestion:
    """Storage row: one question of a persisted quiz run."""

    position: int
    note_id: str
    item_index: int
    question: str  # snapshot, to detect a corpus edit that moved the item


@dataclass(frozen=True)
class RunRecord:
    """Storage row: a persisted quiz run and its questions."""

    id: int
    guild_id: int
    kind: RunKind
    started_by: int
    scope: str | None
    channel_id: int | None
    seed: int
    status: RunStatus
    created_at: datetime
    finished_at: datetime | None
    questions: tuple[RunQuestion, ...]


@dataclass(frozen=True)
class Attempt:
    """One recorded answer to one quiz item."""

    user_id: int
    note_id: str
    item_index: int
    correct: bool
    chosen: int
    at: datetime
    run_id: int | None = None


@dataclass(frozen=True)
class QuizQuestion:
    """A question as shown to learners (the answer stays on the server side)."""

    position: int
    note_id: str
    note_title: str
    item_index: int
    question: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class QuizRun:
    """A quiz run as a cog renders it. `answered` is the positions the viewing user has answered."""

    id: int
    guild_id: int
    kind: RunKind
    started_by: int
    scope: str | None
    channel_id: int | None
    status: RunStatus
    created_at: datetime
    questions: tuple[QuizQuestion, ...]
    answered: frozenset[int] = frozenset()

    @property
    def next_question(self) -> QuizQuestion | None:
        """The first question the viewing user has not answered yet."""
        return next((q for q in self.questions if q.position not in self.answered), None)


@dataclass(frozen=True)
class AnswerOutcome:
    """The verdict on one answer. `recorded` is False when this user had already answered the question."""

    run_id: int
    position: int
    correct: bool
    chosen: int
    correct_choice: int
    correct_option: str
    why: str
    recorded: bool
    user_done: bool  # this user has now answered every question of the run


@dataclass(frozen=True)
class QuizScore:
    """One participant's result in a run."""

    rank: int
    user_id: int
    correct: int
    answered: int


@dataclass(frozen=True)
class QuizResults:
    """A run's results, best first: the leaderboard of a group quiz or the score of a solo one."""

    run_id: int
    kind: RunKind
    total_questions: int
    finished: bool
    scores: tuple[QuizScore, ...]


# --- Progress ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventCount:
    """Storage row: how often a learner did one kind of thing with one note."""

    note_id: str
    kind: EventKind
    count: int
    last_at: datetime


@dataclass(frozen=True)
class TopicActivity:
    """What a learner did with one note."""

    note_id: str
    title: str
    discipline: str
    asked: int
    opened: int
    quizzed: int
    last_at: datetime
    mastered: bool


@dataclass(frozen=True)
class DisciplineMastery:
    """Mastered notes out of the discipline's quizzable notes."""

    discipline: str
    label: str
    mastered: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.mastered / self.total) if self.total else 0


@dataclass(frozen=True)
class Streak:
    """Consecutive study days in the learner's timezone, ending today or yesterday."""

    current: int
    longest: int
    studied_today: bool
    today: date


@dataclass(frozen=True)
class ProgressReport:
    """Everything `/progress` shows."""

    user_id: int
    topics: tuple[TopicActivity, ...]
    disciplines: tuple[DisciplineMastery, ...]
    streak: Streak
    correct_answers: int
    total_answers: int
    mastered: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class LeaderboardEntry:
    """One row of a leaderboard."""

    rank: int
    user_id: int
    score: int


@dataclass(frozen=True)
class Suggestion:
    """A note worth studying next, and why."""

    note_id: str
    title: str
    discipline: str
    reason: str
    ready: bool  # every prerequisite is mastered


# --- Processes and shards ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShardScope:
    """The guilds one bot process owns: those whose shard (Discord's `(guild_id >> 22) % shard_count`) it runs."""

    shard_count: int
    shard_ids: frozenset[int]

    def owns(self, guild_id: int) -> bool:
        return (guild_id >> 22) % self.shard_count in self.shard_ids
