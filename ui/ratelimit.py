"""A sliding-minute rate limit per client (the feedback route's)."""

from __future__ import annotations

import threading
import time
from collections import deque


class RateLimit:
    """At most `per_minute` events per key in any sliding minute (thread-safe)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:  # forget idle clients
                self._seen = {k: v for k, v in self._seen.items() if v and now - v[-1] < 60}
            recent = self._seen.setdefault(key, deque())
            while recent and now - recent[0] >= 60:
                recent.popleft()
            if len(recent) >= self.per_minute:
                return False
            recent.append(now)
            return True
