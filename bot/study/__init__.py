"""Study groups, sessions, quizzes, reviews and progress (SQLite or PostgreSQL). No discord import."""

from bot.study.models import (
    AnswerOutcome,
    AuditEntry,
    CardState,
    DisciplineMastery,
    Group,
    GroupDetails,
    GuildConfig,
    LeaderboardEntry,
    ProgressReport,
    QuestionStats,
    QuizQuestion,
    QuizResults,
    QuizRun,
    QuizScore,
    ReviewReminder,
    ReviewSummary,
    Session,
    SessionReminder,
    Streak,
    Suggestion,
    TopicActivity,
)
from bot.study.admin import AdminService
from bot.study.groups import GroupService, clean_group_name
from bot.study.progress import ProgressService
from bot.study.questions import QuestionLog
from bot.study.quiz import QuizService
from bot.study.review import ReviewService
from bot.study.service import StudyService
from bot.study.storage import SCHEMA_VERSION, Store
from bot.study.when import canonical_zone, parse_when, zone_choices

__all__ = [
    "AdminService",
    "AnswerOutcome",
    "AuditEntry",
    "CardState",
    "DisciplineMastery",
    "Group",
    "GroupDetails",
    "GroupService",
    "GuildConfig",
    "LeaderboardEntry",
    "ProgressReport",
    "ProgressService",
    "QuestionLog",
    "QuestionStats",
    "QuizQuestion",
    "QuizResults",
    "QuizRun",
    "QuizScore",
    "QuizService",
    "ReviewReminder",
    "ReviewService",
    "ReviewSummary",
    "SCHEMA_VERSION",
    "Session",
    "SessionReminder",
    "Store",
    "Streak",
    "StudyService",
    "Suggestion",
    "TopicActivity",
    "canonical_zone",
    "clean_group_name",
    "parse_when",
    "zone_choices",
]
