"""Quiz buttons. DynamicItems: the run, question and choice live in the custom_id (`sbq:{run}:{position}:{choice}`,
`sbq:{run}:finish`) and the run itself in the database, so buttons keep working after a restart.

Answering: on a private (ephemeral) quiz message the click edits that message in place (verdict + why, then
the next question); on the public message of a group quiz it opens a private message for that player, who
carries on there. A repeated click never counts twice (the domain keeps the first answer).
"""

from __future__ import annotations

import re

import discord

from bot.discord.errors import reports_errors
from bot.discord.services import acts_as_moderator
from bot.discord.study._render import (
    LETTERS,
    feedback_embed,
    group_done_embed,
    group_results_embed,
    question_embed,
    quiz_header,
    solo_score_embed,
)
from bot.discord.study._shared import guild_id_of, services_of
from bot.study.models import QuizQuestion, QuizRun

MISSING = discord.utils.MISSING


class AnswerButton(discord.ui.DynamicItem[discord.ui.Button],
                   template=r"sbq:(?P<run>\d+):(?P<position>\d+):(?P<choice>\d)"):
    """One lettered option of one question of one run."""

    def __init__(self, run_id: int, position: int, choice: int):
        super().__init__(discord.ui.Button(label=LETTERS[choice], style=discord.ButtonStyle.primary,
                                           custom_id=f"sbq:{run_id}:{position}:{choice}"))
        self.run_id, self.position, self.choice = run_id, position, choice

    @classmethod
    async def from_custom_id(cls, interaction, item, match: re.Match[str]):
        return cls(int(match["run"]), int(match["position"]), int(match["choice"]))

    @reports_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        await answer_clicked(interaction, self.run_id, self.position, self.choice)


class FinishButton(discord.ui.DynamicItem[discord.ui.Button], template=r"sbq:(?P<run>\d+):finish"):
    """Ends a group quiz (its starter or a moderator) and turns its message into the results."""

    def __init__(self, run_id: int):
        super().__init__(discord.ui.Button(label="Finish", emoji="🏁", style=discord.ButtonStyle.secondary,
                                           custom_id=f"sbq:{run_id}:finish"))
        self.run_id = run_id

    @classmethod
    async def from_custom_id(cls, interaction, item, match: re.Match[str]):
        return cls(int(match["run"]))

    @reports_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        await finish_clicked(interaction, self.run_id)


DYNAMIC_ITEMS = (AnswerButton, FinishButton)


def question_view(run: QuizRun, question: QuizQuestion, finish: bool = False) -> discord.ui.View:
    """Answer buttons for a question (and Finish under a group quiz's public message)."""
    view = discord.ui.View(timeout=None)
    for choice in range(len(question.options)):
        view.add_item(AnswerButton(run.id, question.position, choice))
    if finish:
        finish_button = FinishButton(run.id)
        finish_button.item.row = 1
        view.add_item(finish_button)
    return view


async def answer_clicked(interaction: discord.Interaction, run_id: int, position: int, choice: int) -> None:
    """Record the answer, then show the verdict with the next question (or the end of the quiz)."""
    quizzes = services_of(interaction).study.quizzes
    guild_id, user_id = guild_id_of(interaction), interaction.user.id
    outcome = await quizzes.answer(guild_id, run_id, user_id, position, choice)
    run = await quizzes.get(guild_id, run_id, user_id)
    embeds = [feedback_embed(outcome)]
    view: discord.ui.View | None = None
    question = run.next_question
    if question is not None:
        embeds.append(question_embed(run, question))
        view = question_view(run, question)
    elif run.kind == "group":
        embeds.append(group_done_embed(await quizzes.results(guild_id, run_id), user_id, run.started_by))
    else:
        embeds.append(solo_score_embed(await quizzes.results(guild_id, run_id), user_id))
    message = interaction.message
    if message is not None and message.flags.ephemeral:
        await interaction.response.edit_message(embeds=embeds, view=view)
    else:  # the public card of a group quiz: this player continues privately
        await interaction.response.send_message(embeds=embeds, view=view or MISSING, ephemeral=True)


async def finish_clicked(interaction: discord.Interaction, run_id: int) -> None:
    """Close the run (starter or moderator) and replace the quiz card by the results and leaderboard."""
    services = services_of(interaction)
    guild_id = guild_id_of(interaction)
    results = await services.study.quizzes.finish(guild_id, run_id, interaction.user.id,
                                                  moderator=await acts_as_moderator(interaction))
    run = await services.study.quizzes.get(guild_id, run_id)
    await interaction.response.edit_message(
        embeds=[quiz_header(run, services.corpus(guild_id)), group_results_embed(results)], view=None)
