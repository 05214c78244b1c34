"""Questions by mention, in study channels, and /ask; /topic, /next and /path."""

from __future__ import annotations

import logging
import re
from typing import Optional

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.services import StudyCog
from bot.discord.asking._render import answer_embed, note_embed, suggestions_embed
from bot.discord.asking._views import answer_view, pager, route_pages
from bot.discord.errors import OnCooldown, user_message
from bot.discord.text import CHOICE_NAME_MAX, clean_cut, strip_bot_mention
from bot.errors import NotFound, StudybotError
from bot.retrieval.answering import NextTopic, topics_after
from bot.retrieval.question import strip_markup


log = logging.getLogger("studybot.asking")
DM_HELP = ("Hi! Ask me anything about the study topics right here, in your own words, e.g. *why do we need the "
           "chain rule in backpropagation?* I answer from the study notes, and only you see it.\n"
           "`/ask`, `/topic`, `/next` and `/path` work here too. Study groups, sessions, quizzes, reviews, progress "
           "and the map belong to a server: use those commands in a server we share.")
_SMALL_TALK = re.compile(r"^(hi|hello|hey|yo|hiya|help|\?|thanks?( you)?|thx|ty|ok(ay)?|cool|bye"
                         r"|good (morning|afternoon|evening|night)|gm|gn)\b[\s!.?,:)]*(there|bot|studybot)?"
                         r"[\s!.?,:)]*$", re.IGNORECASE)


def is_a_question(text: str) -> bool:
    """Whether a DM asks something in words (not only markup, a greeting or thanks)."""
    words = " ".join(strip_markup(text).split())
    return bool(words) and not _SMALL_TALK.match(words)


class AskingCog(StudyCog, name="Asking"):
    """Answer questions from the notes."""

    # -- shared ----------------------------------------------------------------------------------------
    def _check_cooldown(self, user_id: int) -> None:
        retry = self.services.rate_limit.hit(user_id)
        if retry is not None:
            raise OnCooldown(retry)

    async def topic_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        notes = self.services.corpus(interaction.guild_id).find(current, limit=25)
        return [app_commands.Choice(name=clean_cut(f"{n.title} ({n.discipline})", CHOICE_NAME_MAX), value=n.id)
                for n in notes]

    def _note(self, guild_id: int | None, note_id: str):
        corpus = self.services.corpus(guild_id)
        note = corpus.get(note_id)
        if note is None:
            matches = corpus.find(note_id, limit=1)
            if not matches:
                raise NotFound(f"I have no topic called '{clean_cut(note_id, 80)}'. Start typing and pick one from the list.")
            note = matches[0]
        return note

    # -- messages ----------------------------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer a mention anywhere, questions in study channels, and every question in a DM."""
        if message.author.bot or self.bot.user is None:
            return
        if message.guild is None:
            return await self._direct_message(message)
        mentioned = self.bot.user in message.mentions
        in_study = False
        if not mentioned:
            in_study = message.channel.id in await self.services.study_channels(message.guild.id)
            if not in_study:
                return
        question = strip_bot_mention(message.content, self.bot.user.id)
        if not question:
            if mentioned:
                await message.reply("Ask me something about the study topics, e.g. "
                                    "*why do we need the chain rule in backpropagation?*")
            return
        try:
            self._check_cooldown(message.author.id)
            async with message.channel.typing():
                answer, qid = await self.services.ask(message.guild.id, message.author.id, question)
        except (StudybotError, OnCooldown) as exc:
            await message.reply(user_message(exc), delete_after=30)
            return
        except Exception as exc:  # noqa: BLE001 - never crash the listener
            await message.reply(user_message(exc))
            return
        if not answer.answered and not mentioned:
            return  # chit-chat in a study channel: stay quiet rather than say "not in my notes" to everything
        await message.reply(embed=answer_embed(answer), view=answer_view(answer, qid) or discord.utils.MISSING, mention_author=False)

    async def _direct_message(self, message: discord.Message) -> None:
        """A DM is private by nature: answer it like /ask, or say how to use the bot when it asks nothing."""
        question = strip_bot_mention(message.content, self.bot.user.id)  # type: ignore[union-attr]
        if not is_a_question(question):
            await message.reply(DM_HELP, mention_author=False)
            return
        try:
            self._check_cooldown(message.author.id)
            async with message.channel.typing():
                answer, _ = await self.services.ask(None, message.author.id, question)
        except Exception as exc:  # noqa: BLE001 - never crash the listener; the message is only theirs anyway
            await message.reply(user_message(exc), mention_author=False)
            return
        await message.reply(embed=answer_embed(answer), view=answer_view(answer, None) or discord.utils.MISSING, mention_author=False)

    # -- slash commands ------------------------------------------------------------------------------------
    @app_commands.command()
    @app_commands.describe(question="What you want to understand", private="Only you see the answer")
    async def ask(self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 1000],
                  private: bool = False) -> None:
        """Ask a question; the answer comes from the study notes."""
        question = self.services.answers.check_question(question)  # refuse privately, before a public defer
        self._check_cooldown(interaction.user.id)
        await interaction.response.defer(thinking=True, ephemeral=private)
        answer, qid = await self.services.ask(interaction.guild_id, interaction.user.id, question)
        view = answer_view(answer, qid)
        await interaction.followup.send(embed=answer_embed(answer), view=view or discord.utils.MISSING,
                                        ephemeral=private)

    @app_commands.command()
    @app_commands.describe(name="Start typing a topic")
    @app_commands.autocomplete(name=topic_autocomplete)
    async def topic(self, interaction: discord.Interaction, name: str) -> None:
        """Show one topic from the notes."""
        from bot.discord.asking._views import DetailButton

        note = self._note(interaction.guild_id, name)
        view = discord.ui.View(timeout=None)
        view.add_item(DetailButton(note.id))
        await interaction.response.send_message(embed=note_embed(note, self.services.corpus(interaction.guild_id)), view=view)
        await self.services.record_study(interaction, note.id, "opened")

    @app_commands.command(name="next")
    @app_commands.describe(topic="A topic you know (default: personal suggestions from your progress)")
    @app_commands.autocomplete(topic=topic_autocomplete)
    async def next_(self, interaction: discord.Interaction, topic: Optional[str] = None) -> None:
        """Suggest what to study next."""
        corpus = self.services.corpus(interaction.guild_id)
        known = await self.services.mastered(interaction.guild_id, interaction.user.id)
        if topic is None and interaction.guild_id is not None:
            personal = await self.services.study.progress.suggestions(interaction.guild_id, interaction.user.id)
            topics = [NextTopic(s.note_id, s.title, s.discipline, s.reason) for s in personal]
            title = "Suggested for you"
        elif topic is None:
            topics = [NextTopic(n.id, n.title, n.discipline, "a starting point: no prerequisites")
                      for n in corpus.notes.values() if not n.prerequisites][:8]
            title = "Where to start"
        else:
            note = self._note(interaction.guild_id, topic)
            topics = topics_after(corpus, note, known)
            title = f"After {note.title}"
        embed = suggestions_embed(title, topics, "You've covered everything that builds on this. 🎉")
        if interaction.guild_id is None:
            embed.set_footer(text="Your progress is kept per server: in a server, /next suggests from yours there.")
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command()
    @app_commands.describe(target="The topic you want to reach",
                           full="Every prerequisite (default: the essential route, the longest chain to the target)")
    @app_commands.autocomplete(target=topic_autocomplete)
    async def path(self, interaction: discord.Interaction, target: str, full: bool = False) -> None:
        """What to learn first to reach a topic, in order, skipping what you've mastered."""
        note = self._note(interaction.guild_id, target)
        pages = await route_pages(interaction, note.id, full)
        view = pager("full" if full else "path", note.id, 0, len(pages)) or discord.utils.MISSING
        await interaction.response.send_message(embed=pages[0], view=view, ephemeral=True)
