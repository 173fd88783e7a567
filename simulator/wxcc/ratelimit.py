"""A per-client request budget like WXCC's (N requests per rolling minute), answering how long to wait when spent."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

WINDOW_MS = 60_000


class RateLimiter:
    """Sliding-window log per client: at most `per_minute` requests in any 60 s; None disables the limit."""

    def __init__(self, per_minute: int | None, now_ms: Callable[[], int]) -> None:
        self.per_minute = per_minute
        self._now_ms = now_ms
        self._log: dict[str, deque[int]] = {}

    def check(self, client: str) -> int | None:
        """Record a request of `client`; None if allowed, else the whole seconds until one would be (Retry-After)."""
        if self.per_minute is None:
            return None
        now = self._now_ms()
        log = self._log.setdefault(client, deque())
        while log and log[0] <= now - WINDOW_MS:
            log.popleft()
        if len(log) >= self.per_minute:
            return max(1, math.ceil((log[0] + WINDOW_MS - now) / 1000))
        log.append(now)
        return None
