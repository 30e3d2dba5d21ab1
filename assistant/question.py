"""A question as it may be asked: what is checked before anything is searched."""

from __future__ import annotations

import re
import unicodedata

from assistant.errors import InvalidQuestionError
from assistant.lexical import terms
from assistant.text import words

MAX_QUESTION_CHARS = 2000  # a question, as asked or rewritten to stand alone
# The longest text of one message of a conversation, question or answer, as saved or sent back.
MAX_MESSAGE_CHARS = 20_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# What is wrong with a question, in English (`assistant.notices` lists them with the service's
# other sentences, so the chat can say them in its reader's language).
QUESTION_TEXTS: dict[str, str] = {
    "question.not_text": "the question must be text",
    "question.control": (
        "the question contains control characters; remove them (plain text and new lines only)"
    ),
    "question.empty": "the question is empty: type a question about the IOM documents",
    "question.too_long": (
        "the question is {length} characters long; the limit is {limit}. Ask about one thing at a time."
    ),
    "question.no_words": "the question has no words to search for: ask with words",
}


def check_question(question: str, *, follow_up: bool = False) -> str:
    """The question, trimmed; InvalidQuestionError naming the problem if it cannot be asked. A
    follow-up may be all function words ("When was it done?"): the conversation says what; but
    not without words ("???")."""
    if not isinstance(question, str):
        raise InvalidQuestionError(QUESTION_TEXTS["question.not_text"])
    if _CONTROL.search(question):
        raise InvalidQuestionError(QUESTION_TEXTS["question.control"])
    text = unicodedata.normalize("NFC", question).strip()
    if not text:
        raise InvalidQuestionError(QUESTION_TEXTS["question.empty"])
    if len(text) > MAX_QUESTION_CHARS:
        message = QUESTION_TEXTS["question.too_long"].format(length=len(text), limit=MAX_QUESTION_CHARS)
        raise InvalidQuestionError(message)
    if not terms(text) and not (follow_up and words(text)):
        raise InvalidQuestionError(QUESTION_TEXTS["question.no_words"])
    return text
