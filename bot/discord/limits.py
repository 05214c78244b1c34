"""A per-user question rate limit: a small token bucket, with a friendly retry time."""

from __future__ import annotations

import time
from collections.abc import Callable


class Cooldown:
    """Allows `burst` questions per `per` seconds for each user."""

    def __init__(self, burst: int, per: float, clock: Callable[[], float] = time.monotonic):
        self.burst = burst
        self.per = per
        self.clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}  # user -> (tokens, last time)

    def hit(self, user_id: int) -> float | None:
        """Take a token; None if allowed, otherwise the seconds until the next one."""
        if self.per <= 0:
            return None
        now = self.clock()
        rate = self.burst / self.per
        tokens, last = self._buckets.get(user_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[user_id] = (tokens, now)
            return (1.0 - tokens) / rate
        self._buckets[user_id] = (tokens - 1.0, now)
        if len(self._buckets) > 10_000:  # forget idle users
            self._buckets = {u: v for u, v in self._buckets.items() if now - v[1] < self.per}
        return None
