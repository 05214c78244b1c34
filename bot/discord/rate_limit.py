"""The per-user question rate limit, shared by /ask and questions in messages: discord.py's cooldowns."""

from __future__ import annotations

from discord import app_commands
from discord.ext import commands


class QuestionRateLimit:
    """Allows `burst` questions per `per` seconds for each user (one discord.py cooldown bucket per user).

    Not the `app_commands.checks.cooldown` decorator: questions typed in a channel count against the same
    bucket as /ask, so the bucket is looked up by user id in both places.
    """

    def __init__(self, burst: int, per: float):
        self._buckets = commands.CooldownMapping(app_commands.Cooldown(burst, per), type=lambda user_id: user_id)
        self._limited = per > 0

    def hit(self, user_id: int) -> float | None:
        """Take a token; None if allowed, otherwise the seconds until the user may ask again."""
        if not self._limited:
            return None
        bucket = self._buckets.get_bucket(user_id)
        return bucket.update_rate_limit() if bucket is not None else None
