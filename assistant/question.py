"""A question as it may be asked: what is checked before anything is searched."""

from __future__ import annotations

import re
import unicodedata

from assistant.errors import InvalidQuestionError
from assistant.lexical import terms

MAX_QUESTION_CHARS = 2000  # a question, as asked or rewritten to stand alone
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def check_question(question: str) -> str:
    """The question, trimmed; InvalidQuestionError naming the problem if it cannot be asked."""
    if not isinstance(question, str):
        raise InvalidQuestionError("the question must be text")
    if _CONTROL.search(question):
        raise InvalidQuestionError(
            "the question contains control characters; remove them (plain text and new lines only)"
        )
    text = unicodedata.normalize("NFC", question).strip()
    if not text:
        raise InvalidQuestionError("the question is empty: type a question about the IOM documents")
    if len(text) > MAX_QUESTION_CHARS:
        raise InvalidQuestionError(
            f"the question is {len(text)} characters long; the limit is {MAX_QUESTION_CHARS}. "
            "Ask about one thing at a time."
        )
    if not terms(text):
        raise InvalidQuestionError("the question has no words to search for: ask with words")
    return text
