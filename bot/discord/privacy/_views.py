"""The confirm step of `/privacy forget-me`. Persistent DynamicItems: the learner's id is in the custom_id, so the
button works only for them, and never looks live and then fails after a restart."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import discord

from bot.discord.errors import reports_errors
from bot.discord.privacy._render import CANCELLED, NOT_YOURS, forgotten_text
from bot.errors import PermissionDenied

if TYPE_CHECKING:  # pragma: no cover
    from bot.privacy import PrivacyService

def service_of(interaction: discord.Interaction) -> "PrivacyService":
    return interaction.client.get_cog("Privacy").service  # type: ignore[union-attr]


class ForgetButton(discord.ui.DynamicItem[discord.ui.Button],
                   template=r"sb:forget:(?P<action>yes|no):(?P<user>\d+)"):
    """Delete my data here / Cancel."""

    def __init__(self, action: str, user_id: int):
        yes = action == "yes"
        super().__init__(discord.ui.Button(label="Delete my data here" if yes else "Cancel",
                                           style=discord.ButtonStyle.danger if yes else discord.ButtonStyle.secondary,
                                           custom_id=f"sb:forget:{action}:{user_id}"))
        self.action, self.user_id = action, user_id

    @classmethod
    async def from_custom_id(cls, interaction, item, match: re.Match[str]):
        return cls(match["action"], int(match["user"]))

    @reports_errors
    async def callback(self, interaction: discord.Interaction) -> None:
        if interaction.user.id != self.user_id or interaction.guild_id is None:
            raise PermissionDenied(NOT_YOURS)
        if self.action == "no":
            return await interaction.response.edit_message(content=CANCELLED, view=None)
        counts = await service_of(interaction).forget(interaction.guild_id, interaction.user.id)
        await interaction.response.edit_message(content=forgotten_text(counts), view=None)


DYNAMIC_ITEMS = (ForgetButton,)


def confirm_view(user_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ForgetButton("yes", user_id))
    view.add_item(ForgetButton("no", user_id))
    return view
