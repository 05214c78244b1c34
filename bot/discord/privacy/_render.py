"""Texts of the privacy commands (ephemeral: they are about one learner)."""

from __future__ import annotations

from bot.privacy import ForgetCounts, LearnerExport

CONFIRM = ("This deletes, **in this server only**, your logged questions, your 👍/👎 feedback, your quiz attempts, "
           "your review cards and reminder, and your progress and streak. It cannot be undone. Server-wide counts "
           "(how many questions were asked and answered) stay, without your words or your id. Your study groups "
           "and your timezone are kept: leave a group with `/group leave`. Export a copy first with "
           "`/privacy export`.")


def export_text(export: LearnerExport) -> str:
    return (f"Everything studybot keeps about you in this server: {export.rows} row(s), with what each part is for. "
            "Only you can see this message.")


def forgotten_text(counts: ForgetCounts) -> str:
    return (f"Done. Deleted in this server: {counts.questions} question(s), {counts.feedback} feedback vote(s), "
            f"{counts.quiz_attempts} quiz attempt(s), {counts.review_cards} review card(s), "
            f"{counts.study_events} study event(s) and {counts.activity_days} streak day(s).")


CANCELLED = "Nothing was deleted."
NOT_YOURS = "That button belongs to someone else's `/privacy forget-me`."
