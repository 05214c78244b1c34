"""Strict fakes of discord.py objects for unit tests of cogs (spec_set: a typo is an error, not a pass)."""

from __future__ import annotations

from unittest.mock import AsyncMock, MagicMock

import discord


def fake_member(user_id: int = 1001, name: str = "alice", manage_guild: bool = False,
                roles: list[int] | None = None) -> MagicMock:
    member = MagicMock(spec_set=discord.Member)
    member.id = user_id
    member.name = name
    member.mention = f"<@{user_id}>"
    member.bot = False
    perms = discord.Permissions(manage_guild=manage_guild)
    member.guild_permissions = perms
    role_mocks = []
    for rid in roles or []:
        r = MagicMock(spec_set=discord.Role)
        r.id = rid
        role_mocks.append(r)
    member.roles = role_mocks
    return member


def fake_interaction(client, user=None, guild_id: int = 5000, channel_id: int = 6000) -> MagicMock:
    """An Interaction whose response and followup record what the command sent."""
    interaction = MagicMock(spec_set=discord.Interaction)
    interaction.client = client
    interaction.user = user or fake_member()
    interaction.guild_id = guild_id
    guild = MagicMock(spec_set=discord.Guild)
    guild.id = guild_id
    interaction.guild = guild
    interaction.channel_id = channel_id
    response = MagicMock(spec_set=discord.InteractionResponse)
    response.is_done = MagicMock(return_value=False)
    response.defer = AsyncMock()
    response.send_message = AsyncMock()
    response.send_modal = AsyncMock()
    interaction.response = response
    followup = MagicMock(spec_set=discord.Webhook)
    followup.send = AsyncMock()
    interaction.followup = followup
    return interaction


class FakeClient:
    """Just what cogs and views read from the client: its services."""

    def __init__(self, services, owner_ids: frozenset[int] = frozenset()):
        self.services = services
        self.user = None
        self.owner_ids = owner_ids

    async def is_owner(self, user) -> bool:
        return user.id in self.owner_ids


def sent(mock_call) -> dict:
    """The keyword arguments of the last call of a send mock."""
    assert mock_call.await_count >= 1, "nothing was sent"
    return mock_call.await_args.kwargs
