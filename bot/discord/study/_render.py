"""Text and embeds for groups, sessions, quizzes, reviews and progress. Pure functions of domain values.

Everything a user typed (group names, topics) is escaped here with `safe`, so it can neither ping nor
format; mentions of members (`<@id>`) only appear inside embeds, which never ping, or in a session
reminder whose allowed_mentions lists exactly the group's members.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import discord

from bot.discord.text import CONTENT_MAX, DESCRIPTION_MAX, FIELD_VALUE_MAX, TITLE_MAX, clean_cut
from bot.knowledge import Corpus
from bot.knowledge.notes import DISCIPLINE_LABELS
from bot.study.models import (
    AnswerOutcome,
    Group,
    GroupDetails,
    LeaderboardEntry,
    ProgressReport,
    QuizQuestion,
    QuizResults,
    QuizRun,
    ReviewReminder,
    ReviewSummary,
    Session,
    SessionReminder,
)
from bot.study.when import format_local

GROUP_COLOUR = discord.Colour.teal()
QUIZ_COLOUR = discord.Colour.blurple()
RIGHT_COLOUR = discord.Colour.green()
WRONG_COLOUR = discord.Colour.red()
PROGRESS_COLOUR = discord.Colour.gold()
LETTERS = "ABCDEFGHIJ"
MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}
MAX_LISTED = 20  # lines in a list before "… and N more"


# -- small helpers -----------------------------------------------------------------------------------------


def safe(text: str, limit: int = 100) -> str:
    """User text fit to echo back: cut to `limit`, Markdown escaped, @everyone/@here/<@id> made inert."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(clean_cut(text, limit)))


def stamp(moment: datetime, style: str = "F") -> str:
    """A Discord timestamp (`<t:unix:F>`), shown in each reader's own timezone and language."""
    return discord.utils.format_dt(moment, style)  # type: ignore[arg-type]


def when(moment: datetime) -> str:
    """Full date and relative time: `<t:…:F> (<t:…:R>)`."""
    return f"{stamp(moment, 'F')} ({stamp(moment, 'R')})"


def duration(delta: timedelta) -> str:
    """A friendly length of time: '25 minutes', '2 hours 5 minutes', '3 days'."""
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        out = f"{hours} hour{'s' if hours != 1 else ''}"
        return out + (f" {rest} minute{'s' if rest != 1 else ''}" if rest else "")
    days = round(minutes / 1440)
    return f"{days} days"


def more(lines: Sequence[str], limit: int = MAX_LISTED) -> str:
    shown = list(lines[:limit])
    if len(lines) > limit:
        shown.append(f"… and {len(lines) - limit} more")
    return "\n".join(shown)


def label(discipline: str) -> str:
    return DISCIPLINE_LABELS.get(discipline, discipline)


def scope_label(corpus: Corpus, scope: str | None) -> str:
    """What a quiz covers, in words."""
    if scope is None:
        return "every topic"
    note = corpus.get(scope)
    if note is not None:
        return note.title
    return label(scope)


# -- groups ------------------------------------------------------------------------------------------------


def group_line(group: Group, mine: bool = False) -> str:
    parts = [f"**{safe(group.name, 60)}**", f"{group.member_count} member{'s' if group.member_count != 1 else ''}"]
    if group.topic:
        parts.append(f"*{safe(group.topic)}*")
    if group.channel_id:
        parts.append(f"<#{group.channel_id}>")
    return ("✅ " if mine else "• ") + " · ".join(parts)


def groups_embed(groups: Sequence[Group], mine: frozenset[int], only_mine: bool) -> discord.Embed:
    title = "Your study groups" if only_mine else "Study groups"
    if not groups:
        empty = ("You're not in any group yet. Browse them with `/group list` and join with `/group join`."
                 if only_mine else "No study groups here yet. Start one with `/group create`!")
        return discord.Embed(title=title, description=empty, colour=GROUP_COLOUR)
    lines = [group_line(g, g.id in mine) for g in groups]
    embed = discord.Embed(title=title, description=clean_cut(more(lines, 40), DESCRIPTION_MAX), colour=GROUP_COLOUR)
    if not only_mine and mine:
        embed.set_footer(text="✅ = you're a member")
    return embed


def group_embed(details: GroupDetails) -> discord.Embed:
    g = details.group
    embed = discord.Embed(title=clean_cut(g.name, TITLE_MAX), colour=GROUP_COLOUR,
                          description=f"*{safe(g.topic, 200)}*" if g.topic else "No topic set.")
    embed.add_field(name="Owner", value=f"<@{g.owner_id}>", inline=True)
    embed.add_field(name="Channel", value=f"<#{g.channel_id}>" if g.channel_id else "none (reminders by DM)",
                    inline=True)
    embed.add_field(name="Created", value=stamp(g.created_at, "D"), inline=True)
    members = [f"<@{m}>" for m in details.member_ids]
    embed.add_field(name=f"Members ({len(members)})", value=clean_cut(more(members, 30), FIELD_VALUE_MAX) or "none",
                    inline=False)
    sessions = [session_line(s, with_group=False) for s in details.sessions]
    embed.add_field(name="Upcoming sessions",
                    value=clean_cut("\n".join(sessions), FIELD_VALUE_MAX) if sessions
                    else "None scheduled. Schedule one with `/session schedule`.", inline=False)
    return embed


# -- sessions ----------------------------------------------------------------------------------------------


def session_line(s: Session, with_group: bool = True) -> str:
    group = f" · **{safe(s.group_name, 60)}**" if with_group else ""
    topic = f" · *{safe(s.topic)}*" if s.topic else ""
    return f"`#{s.id}`{group} · {when(s.starts_at)}{topic}"


def sessions_embed(sessions: Sequence[Session], group: str | None) -> discord.Embed:
    title = f"Upcoming sessions of {clean_cut(group, 60)}" if group else "Upcoming study sessions"
    if not sessions:
        return discord.Embed(title=clean_cut(title, TITLE_MAX), colour=GROUP_COLOUR,
                             description="Nothing scheduled. Plan one with `/session schedule`.")
    return discord.Embed(title=clean_cut(title, TITLE_MAX), colour=GROUP_COLOUR,
                         description=clean_cut(more([session_line(s, group is None) for s in sessions]),
                                               DESCRIPTION_MAX))


def scheduled_text(s: Session, group: Group, zone: ZoneInfo, lead: timedelta) -> str:
    topic = f" on *{safe(s.topic)}*" if s.topic else ""
    where = f" in <#{group.channel_id}>" if group.channel_id else " by DM"
    return (f"📅 **{safe(group.name, 60)}** study session `#{s.id}`{topic}: {when(s.starts_at)}.\n"
            f"-# Read in your timezone as {format_local(s.starts_at, zone)}; not right? `/config timezone`.\n"
            f"I'll remind the members {duration(lead)} before{where}.")


def cancelled_text(s: Session, actor_id: int) -> str:
    group = safe(s.group_name, 60)
    return f"🚫 Session `#{s.id}` of **{group}** on {stamp(s.starts_at)} was cancelled by <@{actor_id}>."


def reminder_head(r: SessionReminder) -> str:
    """The reminder's text without mentions: on time, late, or late and already started."""
    s = r.session
    session = f"the **{safe(s.group_name, 60)}** study session" + (f" on *{safe(s.topic)}*" if s.topic else "")
    at = f"{stamp(s.starts_at, 'R')} ({stamp(s.starts_at)})"
    if r.late_by is None:
        return f"⏰ Reminder: {session} starts {at}."
    verb = "started" if r.started else "starts"
    return f"⏰ Sorry, this reminder is {duration(r.late_by)} late (I was offline): {session} {verb} {at}."


def reminder_messages(r: SessionReminder, limit: int = CONTENT_MAX,
                      max_users: int = 100) -> list[tuple[str, tuple[int, ...]]]:
    """(content, mentioned user ids) per message: the text plus member mentions, split to Discord's limits."""
    out: list[tuple[str, tuple[int, ...]]] = []
    content, users = reminder_head(r) + "\n", []
    for uid in r.member_ids:
        mention = f"<@{uid}> "
        if len(content) + len(mention) > limit or len(users) >= max_users:
            out.append((content.rstrip(), tuple(users)))
            content, users = "", []
        content += mention
        users.append(uid)
    out.append((content.rstrip(), tuple(users)))
    return out


def reminder_dm(r: SessionReminder, guild_name: str | None) -> str:
    where = f" in **{safe(guild_name, 100)}**" if guild_name else ""
    return reminder_head(r) + f"\n-# You're a member of this study group{where}."


def review_dm(r: ReviewReminder, guild_name: str | None) -> str:
    cards = f"{r.due} review card{'s' if r.due != 1 else ''}"
    where = f" in **{safe(guild_name, 100)}**" if guild_name else ""
    return (f"📚 You have {cards} due{where}. A few minutes of `/review start` there keeps them fresh!\n"
            "-# Turn these reminders off with `/review reminders hour:off`.")


# -- quizzes -----------------------------------------------------------------------------------------------


def quiz_header(run: QuizRun, corpus: Corpus) -> discord.Embed:
    """The public card of a group quiz."""
    n = len(run.questions)
    about = f"{n} question{'s' if n != 1 else ''}, started by <@{run.started_by}>."
    if run.status == "finished":
        how = "This quiz is over. Start another with `/quiz`!"
    else:
        how = ("Everyone can play: press a letter to answer; your feedback and next questions come privately.\n"
               "Whoever started it (or a moderator) presses **Finish** to show the results.")
    return discord.Embed(title=clean_cut(f"Group quiz: {scope_label(corpus, run.scope)}", TITLE_MAX),
                         colour=QUIZ_COLOUR, description=f"{about} {how}")


def question_embed(run: QuizRun, question: QuizQuestion) -> discord.Embed:
    index = next((i for i, q in enumerate(run.questions) if q.position == question.position), 0) + 1
    kind = {"group": "Group quiz", "review": "Review", "solo": "Quiz"}[run.kind]
    options = "\n".join(f"**{LETTERS[i]}.** {clean_cut(o, 300)}" for i, o in enumerate(question.options))
    embed = discord.Embed(title=f"{kind} · question {index} of {len(run.questions)}", colour=QUIZ_COLOUR,
                          description=clean_cut(f"**{clean_cut(question.question, 1000)}**\n\n{options}",
                                                DESCRIPTION_MAX))
    embed.set_footer(text=clean_cut(f"From: {question.note_title}", 200))
    return embed


def feedback_embed(outcome: AnswerOutcome) -> discord.Embed:
    right = f"**{LETTERS[outcome.correct_choice]}. {clean_cut(outcome.correct_option, 300)}**"
    if not outcome.recorded:
        title = "You already answered this one"
        verdict = ("Your first answer was right" if outcome.correct else "Your first answer wasn't right") + \
                  f"; the answer is {right}. First answers count."
    elif outcome.correct:
        title, verdict = "✅ Right!", f"The answer is {right}."
    else:
        title, verdict = "❌ Not quite", f"You chose {LETTERS[outcome.chosen]}; the answer is {right}."
    return discord.Embed(title=title, colour=RIGHT_COLOUR if outcome.correct else WRONG_COLOUR,
                         description=clean_cut(f"{verdict}\n\n**Why:** {outcome.why}", DESCRIPTION_MAX))


def solo_score_embed(results: QuizResults, user_id: int) -> discord.Embed:
    mine = next((s for s in results.scores if s.user_id == user_id), None)
    correct = mine.correct if mine else 0
    total = results.total_questions
    cheer = "Perfect! 🎉" if correct == total else "Well done!" if correct * 2 >= total else "Keep going!"
    missed = (mine.answered if mine else 0) - correct
    relearn = (f"The {missed} you missed come back for a quick relearning step: `/review start` in a few minutes "
               "and they stick better. " if missed > 1 else
               "The one you missed comes back for a quick relearning step: `/review start` in a few minutes "
               "and it sticks better. " if missed == 1 else "")
    return discord.Embed(
        title=f"🏁 Finished: {correct}/{total} right. {cheer}", colour=QUIZ_COLOUR,
        description=(f"{relearn}Every question you answered is now a review card: `/review start` brings it back "
                     "when it's due. See how you're doing with `/progress`."))


def group_done_embed(results: QuizResults, user_id: int, started_by: int) -> discord.Embed:
    mine = next((s for s in results.scores if s.user_id == user_id), None)
    correct = mine.correct if mine else 0
    if user_id == started_by:
        after = "You started this quiz: press **Finish** on the quiz message when everyone's done."
    else:
        after = f"The results appear when <@{started_by}> (or a moderator) presses **Finish**."
    return discord.Embed(title=f"🏁 You've answered them all: {correct}/{results.total_questions} right",
                         description=after, colour=QUIZ_COLOUR)


def group_results_embed(results: QuizResults) -> discord.Embed:
    lines = [f"{MEDALS.get(s.rank, f'{s.rank}.')} <@{s.user_id}>: {s.correct}/{results.total_questions} right"
             + (f" ({s.answered} answered)" if s.answered < results.total_questions else "")
             for s in results.scores]
    embed = discord.Embed(title="🏆 Results", colour=RIGHT_COLOUR,
                          description=clean_cut(more(lines, 25), DESCRIPTION_MAX) if lines
                          else "Nobody answered this time. Try again with `/quiz`!")
    n = len(results.scores)
    embed.set_footer(text=f"{n} participant{'s' if n != 1 else ''} · quiz #{results.run_id} is closed")
    return embed


# -- reviews -----------------------------------------------------------------------------------------------


def review_summary_text(summary: ReviewSummary, zone: str) -> str:
    if summary.total == 0:
        head = "You have no review cards yet: answer a `/quiz` and its questions come back here when they're due."
    elif summary.due_now == 0:
        nxt = f" The next one is due {stamp(summary.next_due_at, 'R')}." if summary.next_due_at else ""
        head = f"Nothing to review right now ({summary.total} card{'s' if summary.total != 1 else ''} in all).{nxt}"
    else:
        head = f"**{summary.due_now}** of your {summary.total} review cards are due."
        if summary.relearning:
            head += (f" {summary.relearning} of them you missed lately: a quick relearning step now makes them "
                     "stick.")
    if summary.reminders_enabled and summary.reminder_hour is not None:
        tail = f"Daily reminder: {summary.reminder_hour:02d}:00 ({zone})."
    else:
        tail = "Get a daily DM when cards are due with `/review reminders`."
    return f"{head}\n-# {tail}"


def reminders_set_text(hour: int | None, zone: str) -> str:
    if hour is None:
        return "Daily review reminders are off. Turn them back on any time with `/review reminders`."
    return (f"I'll DM you around **{hour:02d}:00** ({zone}) on days you have review cards due. "
            "Make sure your privacy settings allow DMs from this server. Wrong timezone? `/config timezone`.")


# -- progress ----------------------------------------------------------------------------------------------


def bar(percent: int, width: int = 10) -> str:
    filled = round(percent * width / 100)
    return "█" * filled + "░" * (width - filled)


def progress_embed(report: ProgressReport, name: str, detailed: bool) -> discord.Embed:
    """A learner's progress; `detailed` adds the topics they studied (only ever shown to themselves)."""
    title = "Your progress" if detailed else f"Progress of {safe(name, 100)}"
    s = report.streak
    streak = f"🔥 {s.current} day{'s' if s.current != 1 else ''}" + (" (studied today)" if s.studied_today else "")
    embed = discord.Embed(title=clean_cut(title, TITLE_MAX), colour=PROGRESS_COLOUR)
    embed.add_field(name="Streak", value=f"{streak}\nlongest: {s.longest}", inline=True)
    rate = f" ({report.correct_answers / report.total_answers:.0%})" if report.total_answers else ""
    embed.add_field(name="Quiz answers", value=f"{report.correct_answers} correct of {report.total_answers}{rate}",
                    inline=True)
    embed.add_field(name="Topics mastered", value=str(len(report.mastered)), inline=True)
    mastery = [f"`{bar(d.percent)}` {d.label}: {d.mastered}/{d.total}" for d in report.disciplines if d.total]
    embed.add_field(name="Mastery per discipline", value=clean_cut("\n".join(mastery), FIELD_VALUE_MAX) or "—",
                    inline=False)
    if detailed:
        lines = [f"{'✅' if t.mastered else '▫️'} **{t.title}** ({label(t.discipline)}): "
                 + ", ".join(p for p in (f"{t.asked} asked" if t.asked else "", f"{t.opened} opened" if t.opened
                                         else "", f"{t.quizzed} quizzed" if t.quizzed else "") if p)
                 for t in report.topics]
        embed.add_field(name=f"Topics studied ({len(report.topics)})",
                        value=clean_cut(more(lines, 12), FIELD_VALUE_MAX) if lines
                        else "None yet: try `/topic`, `/ask` or `/quiz`.", inline=False)
        embed.set_footer(text="Only you can see this. Mastered = at least 2 of your last 3 answers right.")
    else:
        embed.set_footer(text="A summary: what someone studied stays private to them.")
    return embed


LEADERBOARD_UNITS = {"correct": "correct answer", "mastered": "topic mastered"}


def leaderboard_embed(entries: Iterable[LeaderboardEntry], metric: str, period: str,
                      group: str | None) -> discord.Embed:
    unit = LEADERBOARD_UNITS.get(metric, metric)
    plural = {"correct answer": "correct answers", "topic mastered": "topics mastered"}.get(unit, unit)
    lines = [f"{MEDALS.get(e.rank, f'{e.rank}.')} <@{e.user_id}>: {e.score} {unit if e.score == 1 else plural}"
             for e in entries]
    where = f" · {clean_cut(group, 60)}" if group else ""
    empty = "Nobody on the board yet. A `/quiz` gets you on it!"
    return discord.Embed(title=clean_cut(f"Leaderboard: {plural}, {period}{where}", TITLE_MAX),
                         colour=PROGRESS_COLOUR, description="\n".join(lines) if lines else empty)


def map_embed(scope: str) -> discord.Embed:
    """The card around a map: what it shows and how to read it."""
    if scope == "mine":
        title, text = ("Your study map", "🟩 mastered · 🟨 started · 🟦 study next. What you studied most recently "
                       "and what comes next; `/map discipline:` shows one discipline, or all topics.")
    elif scope == "all":
        title, text = ("All topics, by discipline", "Foundations first; arcs join a discipline to those that build "
                       "on it. Pick a discipline with `/map discipline:` to see its topics.")
    else:
        title, text = (f"Your study map: {label(scope)}", "🟩 mastered · 🟨 started · ⬜ not yet · dashed: from "
                       "other disciplines. Arrows point from a prerequisite to what builds on it.")
    embed = discord.Embed(title=title, colour=PROGRESS_COLOUR, description=text)
    embed.set_image(url="attachment://map.png")
    return embed


def timezone_text(zone: str, now: datetime, changed: bool) -> str:
    local = now.astimezone(ZoneInfo(zone))
    head = f"Your timezone is now **{zone}**" if changed else f"Your timezone is **{zone}**"
    return (f"{head} (it's {local:%H:%M} on {local:%a %d %b} there). Times you type, e.g. in "
            "`/session schedule`, are read in it." + ("" if changed else " Change it with `/config timezone`."))
