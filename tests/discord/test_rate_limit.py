"""The question rate limit: a burst per user per window, each user on their own, off when the window is 0."""

from __future__ import annotations

from bot.discord.rate_limit import QuestionRateLimit


def test_a_burst_then_a_retry_time_per_user():
    limit = QuestionRateLimit(burst=2, per=60)
    assert limit.hit(1) is None and limit.hit(1) is None
    retry = limit.hit(1)
    assert retry is not None and 0 < retry <= 60
    assert limit.hit(2) is None  # another user has their own bucket


def test_no_window_means_no_limit():
    limit = QuestionRateLimit(burst=1, per=0)
    assert all(limit.hit(1) is None for _ in range(5))
