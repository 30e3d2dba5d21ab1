"""The kind of fact a question asks for (a date, a day, an amount of money, a number, a person, a
name) and whether a sentence holds one: in English, French, Spanish and Albanian. Pure functions."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from assistant.answering.numbers import DATE, DAY_IN_NUMBERS, YEAR, counts
from assistant.lexical import terms
from assistant.text import MONTH_PATTERN, MONTHS, fold, words

if TYPE_CHECKING:
    from assistant.answering.agreement import TermStatistics

# A day or a month of a year: "14 June", "June 14", "June 2022", "14/06/2022", "2022-06-14".
_DAY = re.compile(
    rf"\b{MONTH_PATTERN}\s+(?:\d\d?\b|{YEAR})|\b\d\d?(?:st|nd|rd|th|er)?\s+(?:de\s+)?{MONTH_PATTERN}"
    rf"|{DAY_IN_NUMBERS}",
    re.IGNORECASE,
)
_AMOUNT = re.compile(
    r"(?:usd|us\$|eur|chf|gbp|\$|€|£)\s?\d|\d\s?(?:usd|eur|chf|gbp|€|\$)|\b(?:dollars?|euros?|francs?)\b"
    r"|\d\s*(?:million|billion|mn|bn|m)\b",
    re.IGNORECASE,
)
_PROPER = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-ZÀ-Þ][a-zß-ÿ]+")  # "Célestin", not only "Laura"
_PERSON_WORD = re.compile(r"\b[A-ZÀ-Þ][a-zß-ÿ]+|\b[A-ZÀ-Þ]{4,}\b")  # "Laura", "BOUCSEIN"
# A line that is little but web addresses ("File URL: https://...") answers only a question asking
# for a link.
_WEB_ADDRESS = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
ASKS_LINK = re.compile(
    r"\b(?:link|url|website|web ?site|web address|download|enlace|lien|lidhj\w*)\b", re.IGNORECASE
)
# A person's name is a word the documents hold in at most one chunk in this many (or in at most
# that many chunks, in a collection too small for the share to say anything).
PERSON_NAME_RARITY = 400
PERSON_NAME_CHUNKS = 3
# Kinds of fact whose absence from a sentence is plain to see, as a reply names them.
STATED = {
    "date": "a date",
    "day": "a day or month",
    "amount": "an amount of money",
    "number": "a number",
    "person": "a person's name",
}
# What each kind of question says, folded, in English, French, Spanish and Albanian.
_ASKS_DATE = re.compile(
    r"\b(what year|which year|what date|since when|depuis quand|de quand|quelle date|quel jour|quelle annee"
    r"|en quel mois|desde cuando|que fechas?|que ano|en que ano|ne cilin vit|cilen date)\b"
)
# "When" asks for a date at the head of a question or of a clause ("Selon le rapport, quand ...",
# "¿Cuándo ...?"), not as a conjunction inside one ("... duhet të ekzistojë kur të kthyerit ...").
_ASKS_WHEN = re.compile(
    r"(?:^|[,;:¿]\s*)(?:and |but |so |et |y |dhe )?(?:when|quand|cuando|kur)\b"
    r"|\bwhen (?:did|was|were|is|are|will|does|do|has|have|had)\b"
)
_ASKS_AMOUNT = re.compile(
    r"\b(budget|cost|costs|spent|spend|funding amount|how much money|montant|cout|presupuesto|costo"
    r"|coste|buxhet\w*|kosto\w*)\b"
)
_ASKS_NUMBER = re.compile(
    r"\b(how many|how much|number of|what percentage|what share|combien|nombre de|pourcentage|quelle part"
    r"|cuantos|cuantas|cuanto|numero de|porcentaje|que parte|sa|perqindj\w*)\b"
)
# "What date" asks for a day or a month: a year alone does not answer it.
_ASKS_DAY = re.compile(
    r"\b(what date|which date|on what day|what day|quelle date|quel jour|que fechas?|que dias?"
    r"|cilen date|ne cilen date|cila date"
    r"|what is the date|quelle est la date|cual es la fecha|cila eshte data)\b"
)
# A person asked by the role they hold: "the name of the consultant", "which minister", "who is
# the Director General". ("Who funded it?" may be answered by an organisation: a name, below.)
# The roles, each as the four languages write it (folded).
_ROLES = {
    "minister": r"minister|ministre|ministro|ministri",
    "director": r"director|directeur|directrice|directora|drejtor\w*",
    "chief": r"chief|chef|jefe|jefa|shef\w*|head",
    "consultant": r"consultant|consultante|consultor|consultora|konsulent\w*",
    "coordinator": r"coordinator|coordinateur|coordinatrice|coordinador|coordinadora|koordinator\w*",
    "ambassador": r"ambassador|ambassadeur|embajador|embajadora|ambasador\w*",
    "president": r"president|presidente|presidenti",
    "secretary": r"secretary|secretaire|secretario|secretaria|sekretar\w*",
    "manager": r"manager",
    "leader": r"leader",
    "spokesperson": r"spokesperson|porte-parole|portavoz",
    "mayor": r"mayor|maire|alcalde|alcaldesa|kryetar\w*",
    "officer": r"officer",
    # an evaluation report's author is its evaluator ("Author: ..." in the repository export)
    "evaluator": r"evaluator|evaluatrice|evaluateur|evaluador|evaluadora|vleresues\w*|author|auteur|autor\w*",
}
_ROLE = "(?:" + "|".join(_ROLES.values()) + r")\b"
_W = r"[\w'’-]+ "
_ASKS_PERSON = re.compile(
    rf"\b(?:name of (?:the |an? |its |their )?(?:{_W}){{0,4}}{_ROLE}|which (?:{_W}){{0,2}}{_ROLE}"
    rf"|who (?:is|was|were|are) (?:the |its |their )?(?:{_W}){{0,4}}{_ROLE}"
    rf"|nom (?:du |de la |de l'|des )(?:{_W}){{0,3}}{_ROLE}|quel(?:le)? (?:{_W}){{0,1}}{_ROLE}"
    rf"|qui (?:est|etait|a ete) (?:le |la |l')(?:{_W}){{0,3}}{_ROLE}"
    rf"|nombre (?:del |de la )(?:{_W}){{0,3}}{_ROLE}|que (?:{_W}){{0,1}}{_ROLE}"
    rf"|quien (?:es|era|fue) (?:el |la )(?:{_W}){{0,3}}{_ROLE}"
    rf"|emri i (?:{_W}){{0,3}}{_ROLE}|kush (?:eshte|ishte) (?:{_W}){{0,3}}{_ROLE}"
    rf"|cili (?:{_W}){{0,1}}{_ROLE}"
    # "what is ... called": comment s'appelle, cómo se llama, si quhet
    rf"|comment s'appelle (?:{_W}){{0,3}}{_ROLE}|como se llama (?:{_W}){{0,3}}{_ROLE}"
    rf"|si quhet (?:{_W}){{0,3}}{_ROLE})"
)
_ASKS_NAME = re.compile(r"\b(who|whom|where|qui|ou|quien|quienes|donde|kush|ku)\b")


# Where a question asks a second thing: a conjunction, then a question word ("..., and who led its
# case study?", "... et qui l'a financé ?", "... y cuántas ...", "... dhe sa ..."), folded.
_QUESTION_WORD = (
    r"(?:who|whom|what|which|when|where|how|why|qui|que|quel|quelle|quels|quelles|quand|combien|ou"
    r"|quien|quienes|cual|cuales|cuando|cuanto|cuantos|cuantas|donde|como|kush|cili|cila|cilat|cilet"
    r"|kur|sa|si|ku|cfare)\b"
)
_NEXT_ASKED = re.compile(
    r"(?:,|;)?\s+(?:and|et|y|e|dhe)\s+(?=(?:(?:in|on|at|from|for|with|by|of|en|de|con|por|ne|me|nga) )?"
    + _QUESTION_WORD
    + ")"
)
_ANY_QUESTION_WORD = re.compile(r"\b" + _QUESTION_WORD)


def asked_parts(question: str) -> list[str]:
    """The things a question asks, each as its own words (folded): "Who led the evaluation, and
    who led its case study?" asks two. A question asking one thing is one part."""
    return [part for part in _NEXT_ASKED.split(_asked(question)) if part.strip()]


def _asked(question: str) -> str:
    """The question as the kinds are read from it: folded, without "¿" or "¡" before it."""
    return fold(question).strip().lstrip("¿¡")


def asks_something(question: str) -> bool:
    """Whether a question has a question word of its own: "And the one in Türkiye?" has none."""
    return bool(_ANY_QUESTION_WORD.search(_asked(question)))


def wanted_kind(question: str) -> str | None:
    """The kind of fact a question asks for: day, date, amount (of money), number, person or name."""
    q = _asked(question)
    if _ASKS_DAY.search(q):
        return "day"
    if _ASKS_WHEN.search(q) or "cuándo" in question.lower() or _ASKS_DATE.search(q):
        return "date"
    if _ASKS_AMOUNT.search(q):
        return "amount"
    if _ASKS_NUMBER.search(q):
        return "number"
    if _ASKS_PERSON.search(q):
        return "person"
    if _ASKS_NAME.search(q):
        return "name"
    return None


def holds(
    kind: str | None, sentence: str, question: str, rare_name: Callable[[str], bool] | None = None
) -> bool:
    """Whether a sentence holds a fact of the kind asked, other than the question's own.

    `rare_name` tells a person's name from other capitalised words ("Laura" from "Division"): a
    word the documents write capitalised and seldom. Without it any capitalised word will do.
    """
    if kind == "person" and not _names_role_asked(sentence, question):
        return False
    if kind == "person" and rare_name is not None:
        asked, countries = set(words(question)), _country_words()
        capitalised = (fold(w) for w in _PERSON_WORD.findall(sentence))
        return any(rare_name(w) for w in capitalised if w not in asked and w not in countries)
    if kind in ("name", "person"):  # a name the question does not say, and no month
        said = set(words(question))
        return any(fold(w) not in said and fold(w) not in MONTHS for w in _PROPER.findall(sentence))
    if kind == "amount":
        return bool(_AMOUNT.search(sentence))
    if kind == "date":
        return bool(set(DATE.findall(sentence)) - set(DATE.findall(question)))
    if kind == "day":
        return bool(set(_DAY.findall(sentence)) - set(_DAY.findall(question)))
    if kind == "number":  # a count: a number that is not a date or a year, nor a count asked by
        # the question ("31 survivors" answers "how many survivors on 31 August?")
        return bool(counts(sentence) - counts(question))
    return False


def person_name(stats: TermStatistics) -> Callable[[str], bool]:
    """Whether a capitalised word is a person's name: the documents write it capitalised, and
    seldom (in at most one chunk in `PERSON_NAME_RARITY`: "Laura", not "Division" or "Nations")."""
    most = max(PERSON_NAME_CHUNKS, len(stats) // PERSON_NAME_RARITY)

    def is_person(word: str) -> bool:
        found = terms(word)
        return bool(found) and all(stats.is_name(t) and 0 < stats.holding(t) <= most for t in found)

    return is_person


def _names_role_asked(sentence: str, question: str) -> bool:
    """Whether a sentence names the role by which the question asks for a person, in any of the
    languages ("which minister": "Minister of Interior"; "the evaluator": "Lead evaluator"). A
    name beside another role answers another question: the Team Leader is not the minister."""
    asked = _ASKS_PERSON.search(_asked(question))
    if asked is None:
        return True
    said = fold(sentence)
    for pattern in _ROLES.values():
        if re.search(rf"\b(?:{pattern})", asked.group(0)):
            return bool(re.search(rf"\b(?:{pattern})", said))
    return True


@functools.cache
def _country_words() -> frozenset[str]:
    """The words of country and territory names in the four languages ("Herzegovina", "Kosovë"),
    folded: rare in the documents and capitalised, like a person's name, and no one's."""
    from babel import Locale  # CLDR's names, shipped in the package

    names = (name for language in ("en", "fr", "es", "sq") for name in Locale(language).territories.values())
    return frozenset(w for name in names for w in words(name))


def must_state(kind: str | None) -> bool:
    """Whether an answer must state the kind of fact asked (dates, days, numbers, amounts, persons)."""
    return kind in STATED


def only_addresses(sentence: str) -> bool:
    """Whether a line is web addresses and at most a short key ("File URL: https://...")."""
    return bool(_WEB_ADDRESS.search(sentence)) and len(_WEB_ADDRESS.sub(" ", sentence).split()) <= 3
