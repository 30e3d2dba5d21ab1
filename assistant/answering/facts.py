"""The kind of fact a question asks for (a date, an amount of money, a number, a name) and whether
a sentence holds one: in English, French, Spanish and Albanian. Pure functions."""

from __future__ import annotations

import re

from assistant.text import MONTHS, fold

_MONTH = "(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
YEAR = r"\b(?:1[89]\d\d|20\d\d)\b"
# A date: a year, or a day next to a month name ("June 14", "14 June", "le 3 juin").
DATE = re.compile(
    rf"{YEAR}|\b{_MONTH}\s+\d\d?(?:\s*(?:and|to|[-–])\s*\d\d?)?\b|\b\d\d?(?:st|nd|rd|th)?\s+{_MONTH}",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"\b\d[\d,.]*\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty"
    r"|forty|fifty|dozens?|hundreds?|thousands?|millions?|billions?)\b",
    re.IGNORECASE,
)
_AMOUNT = re.compile(
    r"(?:usd|us\$|eur|chf|gbp|\$|€|£)\s?\d|\d\s?(?:usd|eur|chf|gbp|€|\$)|\b(?:dollars?|euros?|francs?)\b"
    r"|\d\s*(?:million|billion|mn|bn|m)\b",
    re.IGNORECASE,
)
# A footnote mark is no count: glued to a sentence's last word ("found.31 In general") or between
# a word and the next sentence's opening word ("an important responsibility 30 According to").
_FOOTNOTE = re.compile(
    r"(?<=[a-z][.,;”\"’)])\d{1,3}\b"
    r"|(?<=[a-z]) \d{1,3}(?= (?:The|In|This|These|It|However|According|As|While|Lastly|Following)\b(?!-))"
)
_PROPER = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+")
# Kinds of fact whose absence from a sentence is plain to see, as a reply names them.
STATED = {"date": "a date", "amount": "an amount of money", "number": "a number"}
# What each kind of question says, folded, in English, French, Spanish and Albanian.
_ASKS_DATE = re.compile(
    r"\b(what year|which year|what date|since when|quand|depuis quand|quelle date|quel jour|quelle annee"
    r"|en quel mois|cuando|desde cuando|que fecha|que ano|en que ano|kur|ne cilin vit|cilen date)\b"
)
_ASKS_AMOUNT = re.compile(
    r"\b(budget|cost|costs|spent|spend|funding amount|how much money|montant|cout|presupuesto|costo"
    r"|coste|buxhet\w*|kosto\w*)\b"
)
_ASKS_NUMBER = re.compile(
    r"\b(how many|how much|number of|what percentage|what share|combien|nombre de|pourcentage|quelle part"
    r"|cuantos|cuantas|cuanto|numero de|porcentaje|que parte|sa|perqindj\w*)\b"
)
_ASKS_NAME = re.compile(r"\b(who|whom|where|qui|ou|quien|quienes|donde|kush|ku)\b")


def wanted_kind(question: str) -> str | None:
    """The kind of fact a question asks for: date, amount (of money), number or name."""
    q = fold(question).strip().lstrip("¿¡")
    # "when" asks for a date at the head of a question, not in "... include when using X"
    if re.search(
        r"^(?:and |but |so )?when\b|\bwhen (?:did|was|were|is|are|will|does|do|has|have|had)\b", q
    ) or _ASKS_DATE.search(q):
        return "date"
    if _ASKS_AMOUNT.search(q):
        return "amount"
    if _ASKS_NUMBER.search(q):
        return "number"
    if _ASKS_NAME.search(q):
        return "name"
    return None


def holds(kind: str | None, sentence: str, question: str) -> bool:
    """Whether a sentence holds a fact of the kind asked, other than the question's own."""
    if kind == "name":
        return bool(_PROPER.search(sentence))
    if kind == "amount":
        return bool(_AMOUNT.search(sentence))
    if kind == "date":
        return bool(set(DATE.findall(sentence)) - set(DATE.findall(question)))
    if kind == "number":  # a count: a number that is not a date or a year, nor in the question
        numbers = set(_NUMBER.findall(DATE.sub(" ", _FOOTNOTE.sub(" ", sentence))))
        return bool(numbers - set(_NUMBER.findall(question)))
    return False


def must_state(kind: str | None) -> bool:
    """Whether an answer must state the kind of fact asked (dates, numbers and amounts)."""
    return kind in STATED
