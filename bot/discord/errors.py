"""Every error a user can trigger becomes one ephemeral message, here and nowhere else."""

from __future__ import annotations

import functools
import logging

import discord
from discord import app_commands

from bot.errors import StudybotError

log = logging.getLogger("studybot.discord")


class NotModerator(app_commands.CheckFailure):
    """The user lacks Manage Server and the guild's moderator role."""


class NotOwner(app_commands.CheckFailure):
    """The user is not one of the bot's owners (the application's owner or team, or STUDYBOT_OWNER_IDS)."""


class OnCooldown(app_commands.CheckFailure):
    """The user asked too fast."""

    def __init__(self, retry_after: float):
        self.retry_after = retry_after
        super().__init__(f"retry after {retry_after:.1f}s")


def user_message(error: BaseException) -> str:
    """The friendly text for an error; unexpected ones are logged with their traceback."""
    if isinstance(error, (app_commands.CommandInvokeError, app_commands.TransformerError)) and error.__cause__:
        error = error.__cause__
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, StudybotError):
        return str(error)
    if isinstance(error, NotModerator):
        return ("Only moderators can do that: members with **Manage Server**, or the moderator role set "
                "with `/config moderator-role`.")
    if isinstance(error, NotOwner):
        return ("Only the bot's owners can change the base corpus that every server shares. Moderators manage "
                "this server's own notes with `/corpus add`, `/corpus hide` and `/corpus remove`.")
    if isinstance(error, OnCooldown):
        return f"You're asking faster than I can keep up. Try again in {max(1, round(error.retry_after))} s."
    if isinstance(error, app_commands.NoPrivateMessage):
        return ("That command belongs to a server: study groups, sessions, quizzes, reviews, progress and the map "
                "are kept per server. Use it in a server we share. Here in DMs, ask me a question, or use `/ask`, "
                "`/topic`, `/next` and `/path`.")
    if isinstance(error, app_commands.MissingPermissions):
        return "You don't have the permissions for that."
    if isinstance(error, app_commands.BotMissingPermissions):
        return f"I'm missing permissions here: {', '.join(error.missing_permissions)}."
    if isinstance(error, app_commands.TransformerError):
        return f"I couldn't understand `{error.value}` for that option."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use that command here."
    log.error("unexpected error", exc_info=error)
    return "Something went wrong on my side. It has been logged; please try again in a moment."


async def send_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Reply to the interaction with the error message, ephemerally, whatever state the reply is in.

    After a public defer, Discord turns the first follow-up into the public "thinking…" message even when it
    asks to be ephemeral, so one member's error would be shown to everyone: the placeholder is deleted first,
    and the error then goes out as an ephemeral follow-up of its own.
    """
    text = user_message(error)
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True)
            return
        if await _public_placeholder(interaction):
            await interaction.delete_original_response()
        await interaction.followup.send(text, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not deliver an error message", exc_info=True)


async def _public_placeholder(interaction: discord.Interaction) -> bool:
    """Whether the interaction's response is still a public, deferred "thinking…" message."""
    if interaction.response.type is not discord.InteractionResponseType.deferred_channel_message:
        return False
    original = await interaction.original_response()
    return original.flags.loading and not original.flags.ephemeral


def reports_errors(callback):
    """Wrap a component callback so its errors reach the user like command errors do.

    DynamicItems run inside views discord.py builds for them, whose on_error only logs; this decorator
    keeps one path from any user-triggered error to one ephemeral message.
    """

    @functools.wraps(callback)
    async def wrapper(self, interaction: discord.Interaction, *args):
        try:
            return await callback(self, interaction, *args)
        except Exception as exc:  # noqa: BLE001 - every error becomes a message, never a silent failure
            await send_error(interaction, exc)

    return wrapper


class StudyTree(app_commands.CommandTree):
    """The command tree whose on_error is the one place errors become messages."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await send_error(interaction, error)
