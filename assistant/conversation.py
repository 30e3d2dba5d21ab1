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
from assistant.lexicon import place_names
from assistant.text import YEAR_PATTERN, fold

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

# What points back in a question of any length: an opening "and", or a demonstrative before a noun
# ("those reports", "cette occasion", "esos proyectos", "këto projekte"); not English "this" and "that"
# ("this year", "the report that ..."), nor Spanish "este" and "esta" ("está" typed without its accent).
_POINTS_BACK = re.compile(
    r"^(?:and|et|y|dhe)\s|\b(?:these|those|cette|cet|ces|ese|esa|esos|esas|estos|estas|aquel|aquella"
    r"|aquellos|aquellas|dicho|dicha|dichos|dichas|këtë|këto|këta)\s+\w",
    re.IGNORECASE,
)
# What a follow-up may name in place of the earlier question's: a year, a place (`_replaced`).
_YEAR = re.compile(rf"\b{YEAR_PATTERN}\b")
_WORD = re.compile(r"[^\W_]+")


def is_follow_up(question: str) -> bool:
    """Questions that point back at the conversation: short ones by any pointing word, longer ones
    by an opening "and" or a demonstrative."""
    asked = question.strip().lstrip("¿¡")
    return bool(_POINTS_BACK.search(asked)) or (len(terms(question)) <= 6 and bool(_FOLLOW_UP.search(asked)))


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
    return f"{question.rstrip()} ({_replaced(previous, question).rstrip('?. ')})"


def _replaced(previous: str, question: str) -> str:
    """The earlier question without the places and years a follow-up names in their stead: "And
    the one in Türkiye?" after a question on Ethiopia asks about Türkiye alone."""
    if _YEAR.search(question):
        previous = _YEAR.sub("", previous)
    if place_names(question):
        named = {word for name in place_names(previous) for word in _WORD.findall(name)}
        previous = _WORD.sub(lambda m: "" if fold(m.group(0)) in named else m.group(0), previous)
    return " ".join(previous.split())
