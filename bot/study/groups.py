"""Study groups and their scheduled sessions, with reminders claimed exactly once.

Names are checked here, strictly, because the bot repeats them in channels: 1-50 characters after trimming,
letters, digits, spaces and a little punctuation, starting with a letter or digit. That leaves no room for
mentions (@everyone, <@123>, <#1>, <@&1>) or Markdown (`*_~|>[]` and backticks). Free text (topics) is
only refused when it holds a mention or a line break; renderers must still escape its Markdown.

Reminders: a session's reminder is due `reminder_lead` before it starts (or at once when scheduled later
than that). `due_reminders(now)` claims each due reminder in one atomic UPDATE, so after downtime the missed
ones fire once on the first pass, flagged with how late they are. Sessions that started more than
`done_after` ago are closed as 'done' without a reminder. Delivery is at most once: if posting fails, hand the
reminder back with `reminder_failed` to have it retried.
"""

from __future__ import annotations

import os
import re
import socket
import unicodedata
from datetime import UTC, datetime, timedelta

from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.study.models import Audit, Group, GroupDetails, Session, SessionReminder, ShardScope
from bot.study.storage import Store
from bot.study.when import now_or_utc, parse_when, resolve_zone

MAX_NAME = 50
MAX_TOPIC = 100
NAME_PUNCTUATION = "-.,'&+!?():/"
_MENTION = re.compile(r"@(?:everyone|here)\b|<(?:@[!&]?|#|/[^>]*:)\d+>|<a?:\w+:\d+>", re.IGNORECASE)


def clean_group_name(raw: str) -> str:
    """A valid group name from what the user typed (whitespace trimmed and collapsed), or InvalidInput."""
    name = " ".join(unicodedata.normalize("NFKC", raw).split())
    if not name:
        raise InvalidInput("Give the group a name (1 to 50 characters), e.g. 'Backprop beginners'.")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"Group names are at most {MAX_NAME} characters; this one has {len(name)}.")
    if "@" in name or _MENTION.search(name):
        raise InvalidInput("Group names can't contain mentions such as @everyone, <@123> or <#123> (nor '@').")
    bad = sorted({ch for ch in name if not (_name_char(ch) or ch == " ")})
    if bad:
        shown = " ".join(repr(ch) for ch in bad[:8])
        raise InvalidInput(f"Group names can use letters, digits, spaces and {' '.join(NAME_PUNCTUATION)} only "
                           f"(no Markdown or emoji); remove {shown}.")
    if not name[0].isalnum():
        raise InvalidInput("Start the group name with a letter or a digit.")
    return name


def _name_char(ch: str) -> bool:
    return ch.isalnum() or ch in NAME_PUNCTUATION or unicodedata.category(ch).startswith("M")


def clean_text(raw: str | None, what: str = "topic", max_len: int = MAX_TOPIC) -> str | None:
    """Optional one-line free text: trimmed, no mentions or line breaks, at most `max_len` characters."""
    if raw is None:
        return None
    if "\n" in raw or "\r" in raw:
        raise InvalidInput(f"Keep the {what} on one line.")
    text = " ".join(unicodedata.normalize("NFKC", raw).split())
    if not text:
        return None
    if len(text) > max_len:
        raise InvalidInput(f"The {what} is at most {max_len} characters; this one has {len(text)}.")
    if _MENTION.search(text):
        raise InvalidInput(f"The {what} can't contain mentions such as @everyone or <@123>.")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InvalidInput(f"The {what} contains control characters; type it again as plain text.")
    return text


class GroupService:
    """Create and run study groups of a server; schedule sessions and produce their reminders."""

    def __init__(self, store: Store, *, reminder_lead: timedelta = timedelta(minutes=15),
                 late_grace: timedelta = timedelta(minutes=2), done_after: timedelta = timedelta(hours=3),
                 max_owned: int = 10, max_upcoming: int = 20, reminder_lease: timedelta = timedelta(minutes=2)):
        self._store = store
        self.reminder_lease = reminder_lease  # a claim this process dies holding is taken over after this
        self.claimant = f"{socket.gethostname()}:{os.getpid()}"
        self.reminder_lead = reminder_lead
        self.late_grace = late_grace
        self.done_after = done_after
        self.max_owned = max_owned
        self.max_upcoming = max_upcoming

    # --- groups ------------------------------------------------------------------------------------------------

    async def create(self, guild_id: int, owner_id: int, name: str, topic: str | None = None,
                     channel_id: int | None = None, now: datetime | None = None) -> Group:
        """Create a group; its owner is its first member."""
        name = clean_group_name(name)
        topic = clean_text(topic)
        if await self._store.count_owned_groups(guild_id, owner_id) >= self.max_owned:
            raise InvalidInput(f"You already own {self.max_owned} study groups here; archive one first.")
        group = await self._store.create_group(guild_id, name, topic, channel_id, owner_id, now_or_utc(now))
        if group is None:
            raise InvalidInput(f"A study group called '{name}' already exists here; join it or pick another name.")
        return group

    async def get(self, guild_id: int, name: str) -> Group:
        """The active group with this name (case-insensitive), or NotFound."""
        group = await self._store.group_by_name(guild_id, " ".join(unicodedata.normalize("NFKC", name).split()))
        if group is None:
            raise NotFound(f"There is no study group called '{name.strip()[:60]}' here.")
        return group

    async def join(self, guild_id: int, user_id: int, name: str, now: datetime | None = None) -> Group:
        """Join a group."""
        group = await self.get(guild_id, name)
        if not await self._store.add_member(guild_id, group.id, user_id, now_or_utc(now)):
            raise InvalidInput(f"You are already in '{group.name}'.")
        return await self.get(guild_id, group.name)

    async def leave(self, guild_id: int, user_id: int, name: str, now: datetime | None = None) -> Group:
        """Leave a group (its owner archives it instead)."""
        group = await self.get(guild_id, name)
        if user_id == group.owner_id:
            raise InvalidInput(f"You own '{group.name}', so you can't leave it; archive it instead.")
        if not await self._store.remove_member(guild_id, group.id, user_id, now_or_utc(now)):
            raise InvalidInput(f"You are not in '{group.name}'.")
        return await self.get(guild_id, group.name)

    async def list_groups(self, guild_id: int, member_id: int | None = None,
                          include_archived: bool = False) -> list[Group]:
        """The server's groups by name (optionally only one user's)."""
        return await self._store.groups(guild_id, member_id, include_archived)

    async def by_channel(self, guild_id: int, channel_id: int) -> Group | None:
        """The active group whose channel this is, if any."""
        return next((g for g in await self.list_groups(guild_id) if g.channel_id == channel_id), None)

    async def info(self, guild_id: int, name: str, now: datetime | None = None) -> GroupDetails:
        """A group, its members and its upcoming sessions."""
        group = await self.get(guild_id, name)
        members = await self._store.members(guild_id, group.id)
        sessions = await self._store.sessions(guild_id, now_or_utc(now), group.id, limit=10)
        return GroupDetails(group, members, tuple(sessions))

    async def rename(self, guild_id: int, actor_id: int, name: str, new_name: str, *, moderator: bool = False,
                     now: datetime | None = None) -> Group:
        """Rename a group (its owner, or a moderator: audited)."""
        group = await self.get(guild_id, name)
        audit = self._authorise(group, actor_id, moderator, "group.rename")
        new_name = clean_group_name(new_name)
        if audit:
            audit = Audit(actor_id, audit.action, f"{group.name} -> {new_name}")
        if not await self._store.rename_group(guild_id, group.id, new_name, now_or_utc(now), audit):
            raise InvalidInput(f"A study group called '{new_name}' already exists here.")
        return await self.get(guild_id, new_name)

    async def archive(self, guild_id: int, actor_id: int, name: str, *, moderator: bool = False,
                      now: datetime | None = None) -> int:
        """Archive a group (owner or moderator); cancels its scheduled sessions and returns how many."""
        group = await self.get(guild_id, name)
        audit = self._authorise(group, actor_id, moderator, "group.archive")
        return await self._store.archive_group(guild_id, group.id, now_or_utc(now), audit)

    async def remove_member(self, guild_id: int, actor_id: int, name: str, member_id: int, *,
                            moderator: bool = False, now: datetime | None = None) -> Group:
        """Remove someone from a group (owner or moderator)."""
        group = await self.get(guild_id, name)
        audit = self._authorise(group, actor_id, moderator, "group.remove_member", f"user {member_id}")
        if member_id == group.owner_id:
            raise InvalidInput("The owner can't be removed from their own group; archive it instead.")
        if not await self._store.remove_member(guild_id, group.id, member_id, now_or_utc(now), audit):
            raise InvalidInput(f"That person is not in '{group.name}'.")
        return await self.get(guild_id, group.name)

    @staticmethod
    def _authorise(group: Group, actor_id: int, moderator: bool, action: str, extra: str = "") -> Audit | None:
        """None for the owner; an audit record for a moderator acting on someone else's group."""
        if actor_id == group.owner_id:
            return None
        if moderator:
            detail = f"{group.name} (owner {group.owner_id})" + (f": {extra}" if extra else "")
            return Audit(actor_id, action, detail)
        raise PermissionDenied(f"Only the owner of '{group.name}' (or a moderator) can do that.")

    # --- sessions ------------------------------------------------------------------------------------------

    async def schedule(self, guild_id: int, user_id: int, name: str, when: str | datetime, topic: str | None = None,
                       now: datetime | None = None) -> Session:
        """Schedule a session of a group (members only); `when` is text read in the user's timezone."""
        now = now_or_utc(now)
        group = await self.get(guild_id, name)
        if user_id not in await self._store.members(guild_id, group.id):
            raise PermissionDenied(f"Join '{group.name}' to schedule its sessions.")
        if isinstance(when, datetime):
            if when.tzinfo is None:
                raise ValueError("when must be aware")
            starts_at = when.astimezone(UTC)
            if starts_at <= now:
                raise InvalidInput("Sessions are scheduled in the future.")
        else:
            starts_at = parse_when(when, resolve_zone(await self._store.timezone(user_id)), now)
        topic = clean_text(topic)
        if len(await self._store.sessions(guild_id, now, group.id, limit=self.max_upcoming)) >= self.max_upcoming:
            raise InvalidInput(f"'{group.name}' already has {self.max_upcoming} upcoming sessions; cancel one first.")
        remind_at = max(starts_at - self.reminder_lead, now)
        return await self._store.add_session(guild_id, group.id, starts_at, remind_at, topic, user_id, now)

    async def sessions(self, guild_id: int, name: str | None = None, now: datetime | None = None,
                       limit: int = 25) -> list[Session]:
        """Upcoming scheduled sessions of the server, or of one group, soonest first."""
        group_id = (await self.get(guild_id, name)).id if name else None
        return await self._store.sessions(guild_id, now_or_utc(now), group_id, limit)

    async def cancel_session(self, guild_id: int, actor_id: int, session_id: int, *, moderator: bool = False,
                             now: datetime | None = None) -> Session:
        """Cancel a scheduled session (whoever scheduled it, the group owner, or a moderator)."""
        session = await self._store.session(guild_id, session_id)
        if session is None:
            raise NotFound(f"There is no session #{session_id} here.")
        if session.status != "scheduled":
            raise InvalidInput(f"Session #{session_id} is already {session.status}.")
        group = await self._store.group_by_id(guild_id, session.group_id)
        assert group is not None
        audit = None
        if actor_id != session.created_by:
            audit = self._authorise(group, actor_id, moderator, "session.cancel", f"session #{session_id}")
        if not await self._store.cancel_session(guild_id, session_id, now_or_utc(now), audit):
            raise InvalidInput(f"Session #{session_id} is no longer scheduled.")
        cancelled = await self._store.session(guild_id, session_id)
        assert cancelled is not None
        return cancelled

    async def due_reminders(self, now: datetime | None = None,
                            shards: ShardScope | None = None) -> list[SessionReminder]:
        """Claim the due session reminders of these shards' servers (all when None), each by one process.

        The claim is a lease: call `reminder_sent` once posted, or `reminder_failed`; a process that dies
        holding one gives it up when the lease runs out. Late ones carry `late_by`.
        """
        now = now_or_utc(now)
        claimed = await self._store.claim_due_reminders(now, now - self.done_after, self.claimant,
                                                        self.reminder_lease, shards)
        out = []
        for session, channel_id, members in claimed:
            late = now - session.remind_at
            out.append(SessionReminder(session, channel_id, members, late if late > self.late_grace else None, now))
        return out

    async def reminder_sent(self, reminder: SessionReminder, now: datetime | None = None) -> bool:
        """Record that a claimed reminder was posted, so no process posts it again."""
        return await self._store.mark_reminder_sent(reminder.session.guild_id, reminder.session.id,
                                                    now_or_utc(now))

    async def reminder_failed(self, reminder: SessionReminder) -> bool:
        """Hand back a reminder that could not be posted, so the next pass retries it."""
        return await self._store.release_reminder(reminder.session.guild_id, reminder.session.id)
