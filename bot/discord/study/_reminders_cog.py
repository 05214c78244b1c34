"""The reminder loop: session reminders in the group's channel, and the opt-in daily review DMs.

Every `STUDYBOT_REMINDER_INTERVAL_SECONDS` (45 s; first pass as soon as the bot is ready) `send_due_reminders`
runs once; tests call it directly with the `now` they want instead of waiting for the timer.

Session reminders are claimed by the domain with a lease, per guild shard: each process claims only the
servers of the shards it runs, and marks a reminder sent once posted (so one that fell due while the bot
was down fires once after a restart, saying how late it is; one whose process died mid-send is claimed again
when the lease runs out). Every message carries a nonce made from the session, which Discord enforces: a
re-post after such a crash is dropped by Discord instead of shown twice. They mention only the group's
members: allowed_mentions lists exactly those users, never @everyone or roles. A reminder that could not be
posted (channel gone, no permission, Discord error) is handed back with `reminder_failed` and retried on the
next pass. A group without a channel gets its reminders by DM; DMs are best effort (closed DMs are skipped,
never retried).
"""

from __future__ import annotations

import logging
from datetime import datetime

import discord
from discord.ext import tasks

from bot.discord.services import StudyCog
from bot.discord.study._render import reminder_dm, reminder_messages, review_dm
from bot.study.models import ReviewReminder, SessionReminder, ShardScope


log = logging.getLogger("studybot.reminders")
INTERVAL_SECONDS = 45


def members_only(user_ids: tuple[int, ...]) -> discord.AllowedMentions:
    """Ping exactly these users: no @everyone/@here, no roles, no reply ping."""
    return discord.AllowedMentions(everyone=False, roles=False, replied_user=False,
                                   users=[discord.Object(id=u) for u in user_ids])


def shard_scope(bot: discord.Client) -> ShardScope | None:
    """The shards this process runs (None: it runs them all)."""
    count, ids = getattr(bot, "shard_count", None), getattr(bot, "shard_ids", None)
    if count and ids:
        return ShardScope(count, frozenset(ids))
    return None


def reminder_nonce(reminder: SessionReminder, part: int | str) -> str:
    """The same for every post of this part of this reminder, in any process (at most 25 characters)."""
    return f"r{reminder.session.id}.{part}"[:25]


class RemindersCog(StudyCog, name="Reminders"):
    """Posts session reminders and daily review DMs."""

    async def cog_load(self) -> None:
        if not self.serving:
            return
        self.reminder_loop.change_interval(seconds=self.services.settings.reminder_interval_seconds)
        self.reminder_loop.start()

    async def cog_unload(self) -> None:
        self.reminder_loop.cancel()

    @tasks.loop(seconds=INTERVAL_SECONDS)
    async def reminder_loop(self) -> None:
        try:
            await self.send_due_reminders()
        except Exception:  # noqa: BLE001 - one bad pass (e.g. the database busy) must not stop the loop
            log.exception("reminder pass failed; retrying in %s s", INTERVAL_SECONDS)

    @reminder_loop.before_loop
    async def _wait_until_ready(self) -> None:
        await self.bot.wait_until_ready()

    # -- one pass --------------------------------------------------------------------------------------------
    async def send_due_reminders(self, now: datetime | None = None) -> tuple[int, int]:
        """One pass of the loop: post due session reminders, then send due review DMs. Returns how many of each."""
        sessions = await self.send_session_reminders(now)
        reviews = await self.send_review_reminders(now)
        return sessions, reviews

    async def send_session_reminders(self, now: datetime | None = None) -> int:
        groups = self.services.study.groups
        posted = 0
        for reminder in await groups.due_reminders(now, shard_scope(self.bot)):
            try:
                delivered = await self._deliver(reminder)
            except Exception:  # noqa: BLE001 - whatever broke, hand it back and carry on with the others
                log.warning("could not post the reminder of session %s; will retry", reminder.session.id,
                            exc_info=True)
                delivered = False
            if delivered:
                posted += 1
                try:
                    await groups.reminder_sent(reminder, now)
                except Exception:  # noqa: BLE001 - the lease runs out and it is re-posted; the nonce drops the copy
                    log.exception("could not mark the reminder of session %s sent", reminder.session.id)
                continue
            try:
                await groups.reminder_failed(reminder)
            except Exception:  # noqa: BLE001 - keep going: the other claimed reminders still need posting
                log.exception("could not hand back the reminder of session %s", reminder.session.id)
        return posted

    async def send_review_reminders(self, now: datetime | None = None) -> int:
        sent = 0
        for reminder in await self.services.study.reviews.due_reminders(now):
            sent += await self._dm(reminder.user_id, review_dm(reminder, self._guild_name(reminder)))
        return sent

    # -- delivery --------------------------------------------------------------------------------------------
    async def _deliver(self, reminder: SessionReminder) -> bool:
        """Post in the group's channel (True once the first message is out), or DM the members."""
        if reminder.channel_id is None:
            text = reminder_dm(reminder, self._guild_name(reminder))
            for user_id in reminder.member_ids:
                await self._dm(user_id, text, nonce=reminder_nonce(reminder, f"u{user_id}"))
            return True
        channel = self.bot.get_channel(reminder.channel_id) or await self.bot.fetch_channel(reminder.channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            raise TypeError(f"channel {reminder.channel_id} can't receive messages")
        first = True
        for part, (content, users) in enumerate(reminder_messages(reminder)):
            try:
                await channel.send(content, allowed_mentions=members_only(users), nonce=reminder_nonce(reminder, part))
            except discord.HTTPException:
                if first:
                    raise
                log.warning("a follow-up mention message of session %s failed", reminder.session.id, exc_info=True)
            first = False
        return True

    async def _dm(self, user_id: int, text: str, nonce: str | None = None) -> bool:
        """Best effort: a user with closed DMs (or gone) is skipped, never an error."""
        try:
            user = self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
            await user.send(text, **({"nonce": nonce} if nonce else {}))
            return True
        except discord.HTTPException:
            log.info("could not DM user %s", user_id, exc_info=True)
            return False

    def _guild_name(self, reminder: SessionReminder | ReviewReminder) -> str | None:
        guild_id = reminder.session.guild_id if isinstance(reminder, SessionReminder) else reminder.guild_id
        guild = self.bot.get_guild(guild_id)
        return guild.name if guild else None
