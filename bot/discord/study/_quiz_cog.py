"""/quiz and /review: multiple-choice questions from the notes, answered with buttons.

Solo quiz (any channel that is not a group's, or `solo:True`): private; each click edits the quiz message in
place with the verdict, the reason why, then the next question, and finally the score.

Group quiz (`/quiz` in a channel that belongs to a study group): the first question is posted publicly with
the answer buttons and a Finish button. Everyone answers the same questions; a player's first click opens a
private message where their feedback and next questions follow. The quiz ends when its starter (or a
moderator) presses **Finish**: the public message becomes the results with a leaderboard. There is no
automatic end, because the starter finishing first says nothing about whether the others are done (the
starter is told to press Finish when they answer their last question). Answers after Finish are refused.

Review (`/review start`): a private quiz of the learner's due spaced-repetition cards.
"""

from __future__ import annotations

from typing import Optional

import discord
from discord import app_commands

from bot.discord.services import StudyCog
from bot.discord.study._render import question_embed, quiz_header, reminders_set_text, review_summary_text
from bot.discord.study._shared import checked_scope, group_of_channel, guild_id_of, scope_autocomplete
from bot.discord.study._views import question_view
from bot.errors import NotFound


HOUR_CHOICES = [app_commands.Choice(name="off: no reminders", value="off")] + [
    app_commands.Choice(name=f"{h:02d}:00" + {0: " (midnight)", 12: " (noon)"}.get(h, ""), value=str(h))
    for h in range(24)
]


class QuizCog(StudyCog, name="Quizzes"):
    """Quizzes and spaced-repetition reviews."""

    review = app_commands.Group(name="review", description="Spaced-repetition reviews of what you've answered",
                                guild_only=True)

    @app_commands.command()
    @app_commands.guild_only()
    @app_commands.describe(scope="A topic or a whole discipline (default: every topic)",
                           count="How many questions (1-10)", solo="Just for you, even in a group's channel")
    @app_commands.autocomplete(scope=scope_autocomplete)
    async def quiz(self, interaction: discord.Interaction, scope: Optional[app_commands.Range[str, 1, 100]] = None,
                   count: app_commands.Range[int, 1, 10] = 5, solo: bool = False) -> None:
        """Quiz yourself on the notes; in a study group's channel, the whole group plays."""
        guild_id = guild_id_of(interaction)
        group = None if solo else await group_of_channel(self.services, guild_id, interaction.channel_id)
        run = await self.services.study.quizzes.start(guild_id, interaction.user.id, checked_scope(scope), count,
                                                      group=group is not None, channel_id=interaction.channel_id)
        first = run.next_question
        if first is None:  # pragma: no cover - the domain only starts runs with questions
            raise NotFound("There are no quiz questions for that yet.")
        if group is not None:
            await interaction.response.send_message(
                embeds=[quiz_header(run, self.services.corpus(interaction.guild_id)), question_embed(run, first)],
                view=question_view(run, first, finish=True))
        else:
            await interaction.response.send_message(embed=question_embed(run, first), view=question_view(run, first),
                                                    ephemeral=True)

    @review.command(name="start")
    async def review_start(self, interaction: discord.Interaction) -> None:
        """How many review cards are due, and a quiz of them."""
        guild_id, user_id = guild_id_of(interaction), interaction.user.id
        summary = await self.services.study.reviews.summary(guild_id, user_id)
        text = review_summary_text(summary, await self.services.study.admin.timezone(user_id))
        if summary.due_now == 0:
            await interaction.response.send_message(text, ephemeral=True)
            return
        run = await self.services.study.quizzes.start_review(guild_id, user_id, channel_id=interaction.channel_id)
        first = run.next_question
        if first is None:  # pragma: no cover - every due card's note was removed since
            raise NotFound("The notes of your due cards were removed; nothing to review.")
        await interaction.response.send_message(text, embed=question_embed(run, first), view=question_view(run, first),
                                                ephemeral=True)

    @review.command(name="reminders")
    @app_commands.describe(hour="Your local hour for a daily DM when cards are due, or off")
    @app_commands.choices(hour=HOUR_CHOICES)
    async def review_reminders(self, interaction: discord.Interaction, hour: app_commands.Choice[str]) -> None:
        """A daily DM when you have review cards due (in this server), at a local hour of your choice."""
        value = None if hour.value == "off" else int(hour.value)
        await self.services.study.reviews.set_reminders(guild_id_of(interaction), interaction.user.id, value)
        zone = await self.services.study.admin.timezone(interaction.user.id)
        await interaction.response.send_message(reminders_set_text(value, zone), ephemeral=True)
