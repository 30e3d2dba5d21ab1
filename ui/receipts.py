"""Answer ids: the server signs each answer it gives, so feedback can rate only those.

An id is an HMAC of the question and the answer text under the server's secret
(`FEEDBACK_SECRET`; without it, a random secret per process). Nothing is stored: replicas that
share the secret accept each other's ids, and a rating must come with the question and answer
exactly as given.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque


class Receipts:
    """Issues and checks answer ids."""

    def __init__(self, secret: str | None) -> None:
        self._key = secret.encode() if secret else secrets.token_bytes(32)

    def issue(self, question: str, answer: str) -> str:
        """The id of an answer given to a question."""
        message = question.encode() + b"\x00" + answer.encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def valid(self, answer_id: str, question: str, answer: str) -> bool:
        """Whether this server gave this answer to this question."""
        return hmac.compare_digest(answer_id.encode(), self.issue(question, answer).encode())


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
