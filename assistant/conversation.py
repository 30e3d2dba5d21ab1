"""Follow-up questions made standalone before retrieval.

With an LLM the model rewrites the question; without one (or when it fails), a
follow-up that leans on the conversation ("and who funded it?") borrows the
subject of the previous question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answering.prompts import Message
from assistant.lexical import terms

# The words that point back, in English, French, Spanish and Albanian: an opening "and", a pronoun,
# a possessive or a demonstrative ("its", "son", "su", "tij"; "this", "cette", "esa", "këto"), and
# the object pronoun a French, Spanish or Albanian question puts before its verb ("Qui l'a
# financé ?", "¿Quién la dirigió?"; in Albanian, which repeats a named object so, only before a
# verb that ends the question: "Kush e financoi?").
_FOLLOW_UP = re.compile(
    r"^(and|also|what about|how about|and what|et|y|dhe)\b|\b(it|its|they|them|their|this|that|these|"
    r"those|he|she|his|her|there|then|the same|il|elle|ils|ce|cela|ça|eso|esto|ello|ai|ajo"
    r"|son|ses|leur|leurs|cet|cette|ces|su|sus|ese|esa|esos|esas|este|esta|estos|estas|dicho|dicha"
    r"|tij|saj|tyre|ky|kjo|këta|këto|këtë|atë|ato)\b"
    r"|\b(?:qui|que|quand|où|comment|combien)\s+(?:l['’]|les\s|lui\s)"
    r"|\b(?:quién|quiénes|qué|cuándo|dónde|cómo|cuánto|cuántos|cuántas)\s+(?:lo|la|los|las|le|les)\b"
    r"|^(?:kush|çfarë|kur|ku|si)\s+(?:e|i|ia|ua)\s+\w+\s*\??$",
    re.IGNORECASE,
)


def is_follow_up(question: str) -> bool:
    """Short questions that point back at the conversation."""
    return len(terms(question)) <= 6 and bool(_FOLLOW_UP.search(question.strip().lstrip("¿¡")))


def previous_user_question(history: Sequence[Message]) -> str | None:
    """The last question the user asked that stood on its own (follow-ups chain back to it)."""
    asked = [content.strip() for role, content in history if role == "user" and content.strip()]
    for content in reversed(asked):
        if not is_follow_up(content):
            return content
    return asked[-1] if asked else None


def standalone_question(question: str, history: Sequence[Message]) -> str:
    """The question, joined with the previous one when it is a follow-up (no LLM)."""
    previous = previous_user_question(history)
    if previous is None or not is_follow_up(question):
        return question
    return f"{question.rstrip()} ({previous.rstrip('?. ')})"
