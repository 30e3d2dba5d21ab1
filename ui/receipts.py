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
from dataclasses import replace

from assistant.answer import Answer


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

    def signed(self, answer: Answer) -> Answer:
        """The answer with the id that lets its reader rate it (`answer_id`)."""
        return replace(answer, answer_id=self.issue(answer.question, answer.answer))
