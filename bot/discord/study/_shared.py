"""What the study cogs share: the services, safe group-name lookups, autocompletes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord.services import services_of as services_of_client
from bot.discord.study._render import safe
from bot.discord.text import CHOICE_NAME_MAX, clean_cut
from bot.errors import InvalidInput, NotFound
from bot.knowledge.notes import DISCIPLINE_LABELS, DISCIPLINES
from bot.study import Group, clean_group_name
from bot.study.when import EXAMPLES

if TYPE_CHECKING:  # pragma: no cover
    from bot.discord.app import Services

MAX_CHOICES = 25


def services_of(interaction: discord.Interaction) -> "Services":
    return services_of_client(interaction.client)


def guild_id_of(interaction: discord.Interaction) -> int:
    """The server the interaction comes from (study data is per server)."""
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    return interaction.guild_id


def group_name(raw: str) -> str:
    """A typed group name, checked before it reaches the domain (whose messages echo it back).

    Every stored name passed `clean_group_name`, so a name that fails it cannot exist: say so, escaped,
    rather than echo Markdown or a mention.
    """
    try:
        return clean_group_name(raw)
    except InvalidInput:
        raise NotFound(f"There is no study group called '{safe(raw, 60)}' here. "
                       "Pick one from the list, or see them all with `/group list`.") from None


# Characters no time, zone or topic name needs: refused here, so the domain's messages (which quote what was
# typed) never echo Markdown or mentions.
_UNSAFE = frozenset("@<>*_~|`#[]\\")


def checked_when(text: str) -> str:
    if _UNSAFE & set(text):
        raise InvalidInput(f"I couldn't read '{safe(text, 60)}' as a time. Try e.g. {EXAMPLES}.")
    return text


def checked_zone(name: str) -> str:
    if (_UNSAFE - {"_"}) & set(name):
        raise InvalidInput(f"Unknown timezone '{safe(name, 60)}'. Use a name such as 'Europe/Paris', "
                           "'America/New_York' or 'Asia/Kolkata' (start typing a city and pick from the list).")
    return name


def checked_scope(scope: str | None) -> str | None:
    if scope is not None and (_UNSAFE - {"_"}) & set(scope):
        raise NotFound(f"No topic or discipline matches '{safe(scope, 60)}'. Start typing and pick one from the "
                       "list.")
    return scope


async def group_of_channel(services: "Services", guild_id: int, channel_id: int | None) -> Group | None:
    """The active group whose channel this is, if any."""
    if channel_id is None:
        return None
    return await services.study.groups.by_channel(guild_id, channel_id)


def _matches(groups: list[Group], current: str) -> list[app_commands.Choice[str]]:
    key = current.strip().lower()
    starts = [g for g in groups if g.name.lower().startswith(key)]
    rest = [g for g in groups if key in g.name.lower() and g not in starts]
    return [app_commands.Choice(name=clean_cut(g.name, CHOICE_NAME_MAX), value=g.name)
            for g in (starts + rest)[:MAX_CHOICES]]


async def group_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Active groups of the server whose name contains what was typed."""
    if interaction.guild_id is None:
        return []
    return _matches(await services_of(interaction).study.groups.list_groups(interaction.guild_id), current)


async def my_group_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """The user's own groups (for /group leave)."""
    if interaction.guild_id is None:
        return []
    groups = await services_of(interaction).study.groups.list_groups(interaction.guild_id,
                                                                     member_id=interaction.user.id)
    return _matches(groups, current)


async def scope_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Disciplines and topics matching what was typed (disciplines first)."""
    key = current.strip().lower()
    disciplines = [app_commands.Choice(name=f"{DISCIPLINE_LABELS.get(d, d)} (whole discipline)", value=d)
                   for d in DISCIPLINES
                   if key in d.replace("_", " ") or key in DISCIPLINE_LABELS.get(d, d).lower()]
    corpus = services_of(interaction).corpus(interaction.guild_id)
    present = {n.discipline for n in corpus.notes.values() if n.quiz}
    disciplines = [c for c in disciplines if c.value in present]
    notes = [app_commands.Choice(name=clean_cut(f"{n.title} ({DISCIPLINE_LABELS.get(n.discipline, n.discipline)})",
                                                CHOICE_NAME_MAX), value=n.id)
             for n in corpus.find(current, limit=MAX_CHOICES) if n.quiz]
    return (disciplines + notes)[:MAX_CHOICES]
