"""The numbers of a text: its dates, the numbers that may be counts (not footnote marks, labels,
list items, addresses or dates), and whether one of them counts what a "how many" question asks.
In English, French, Spanish and Albanian. Pure functions."""

from __future__ import annotations

import re

from assistant.lexical import bare, stem
from assistant.text import MONTH_PATTERN, STOPWORDS, fold, words

YEAR = r"\b(?:1[89]\d\d|20\d\d)\b"
# A day written in numbers, with a four-digit year ("2025-03-28", "28/03/2025", "28.03.2025").
DAY_IN_NUMBERS = r"\b(?:1[89]|20)\d\d-\d\d-\d\d\b|\b\d\d?[/.]\d\d?[/.](?:1[89]|20)\d\d\b"
# A date: a day in numbers, a year, or a day next to a month name ("June 14", "14 June", "le 3 juin").
DATE = re.compile(
    rf"{DAY_IN_NUMBERS}|{YEAR}|\b{MONTH_PATTERN}\s+\d\d?(?:\s*(?:and|to|[-–])\s*\d\d?)?\b"
    rf"|\b\d\d?(?:st|nd|rd|th)?\s+{MONTH_PATTERN}",
    re.IGNORECASE,
)
_NUMBER = re.compile(  # a count; not the number of a name or code ("COVID-19", "IN/285", "RP.0110")
    r"(?<![^\W\d_][-/.])\b\d[\d,.]*\b"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty"
    r"|forty|fifty|dozens?|hundreds?|thousands?|millions?|billions?)\b",
    re.IGNORECASE,
)
# A footnote mark is no count: glued to a sentence's last word ("found.31 In general") or between
# a word and the next sentence's opening word ("an important responsibility 30 According to").
_FOOTNOTE = re.compile(
    r"^\d{1,3}(?= [A-Z][a-z])"  # or opening a footnote's own line ("17 Case studies 1 and 2 ...")
    r"|(?<=[a-z][.,;”\"’)])\d{1,3}\b"
    r"|(?<=[a-z]) \d{1,3}(?= (?:The|In|This|These|It|However|According|As|While|Lastly|Following)\b(?!-))"
)
# A number that labels a part of a document or a text is no count either: "Figure 8",
# "Resolution 1244", "Module 4", "Recommendation 6".
_LABEL = re.compile(
    r"\b(?:figure|fig\.|table|annex|appendix|section|chapter|module|article|resolution|recommendation"
    r"|page|p\.|case study|step|phase|objective|component|item|no\.|number|n°)\s*#?\s*\d[\d.]*",
    re.IGNORECASE,
)
# A record field whose numbers identify, place or rate, and count nothing: "Web ID: 48124",
# "Location Coordinates: 41.73, 26.08", "Source Quality: 1".
_NOT_COUNTED_FIELD = re.compile(r"\b(?:id|coordinates|quality)\s*:\s*[-\d.,\s]+", re.IGNORECASE)
# The number of an item in a list or of a row in a table, opening its line: "1 – using common
# terminology", "38 | 2021 | RP.0110 | ...".
_ITEM_NUMBER = re.compile(r"^\s*\(?\d{1,3}(?:[.)]\s|\s*[–—|-]\s)")
# A postal address, from its street word on: its numbers count nothing.
_ADDRESS = re.compile(
    r"\b(?:rue|street|avenue|road|boulevard|route|chemin|calle|avenida|carrera|rruga|p\.?\s?o\.? box)\b"
    r"[^;\n]{0,60}",
    re.IGNORECASE,
)


def counts(text: str) -> set[str]:
    """The numbers of a text that may be counts: not footnote marks, labels ("Figure 8"), dates or
    the numbers of a postal address ("Rue E. Pierre, 11, Tabarre 27")."""
    return set(_NUMBER.findall(_countable(text)))


def _countable(text: str) -> str:
    """The text without the numbers that count nothing: list items, footnote marks, addresses,
    labels and dates."""
    text = _ADDRESS.sub(" ", _FOOTNOTE.sub(" ", _ITEM_NUMBER.sub(" ", text)))
    return DATE.sub(" ", _LABEL.sub(" ", _NOT_COUNTED_FIELD.sub(" ", text)))


# A count question's asking words: "how many", "number of", "combien", "cuántos", "sa", and those
# asking for a percentage (a count of a hundred).
_SHARE_WORDS = r"what percentage|pourcentage|porcentaje|perqindj\w*"
_COUNTING = re.compile(
    r"\b(?:how many|number of|combien|nombre de|cuantos|cuantas|numero de|sa|" + _SHARE_WORDS + r")\b"
)
_ASKS_PERCENTAGE = re.compile(r"\b(?:" + _SHARE_WORDS + r")\b")
_PERCENT = re.compile(r"\s*(?:%|per ?cent|pour ?cent|por ?ciento|perqind)", re.IGNORECASE)  # after a number


def asks_percentage(question: str) -> bool:
    """Whether a question asks for a percentage ("what percentage", "quel pourcentage")."""
    return _ASKS_PERCENTAGE.search(fold(question)) is not None


def counted_words(question: str) -> list[str]:
    """The words of a count question that may say what it counts, folded: "How many complaints
    did the hotline receive in Ukraine?" gives "complaints", "hotline" and "receive", without its
    names ("Ukraine" is an entity, agreed with elsewhere). Empty when it asks no count."""
    q = fold(question)
    if _COUNTING.search(q) is None:
        return []
    capitalised = {fold(w) for w in re.findall(r"\b[A-ZÀ-Þ][\w’'-]*", question)}
    named = (bare(w) for w in words(_COUNTING.sub(" ", q)) if w not in STOPWORDS | capitalised)
    return list(dict.fromkeys(w for w in named if not w[0].isdigit()))


def counts_asked(sentence: str, counted: set[str], percentage: bool = False) -> bool:
    """Whether a number of the sentence stands next to a word of the question, function words
    aside (`counted`: index terms): "a total of 1,433 calls" or "Number of calls: 1433" answers
    how many calls the hotline received; "30 informants" or "one survey respondent" does not.
    A count is no percentage and a percentage ("56 per cent of calls") answers only a question
    asking for one (`percentage`)."""
    cleaned = _countable(sentence)
    for number in _NUMBER.finditer(cleaned):
        unit = _PERCENT.match(cleaned, number.end())
        if percentage != bool(unit):
            continue
        before = [w for w in words(cleaned[: number.start()]) if w not in STOPWORDS][-1:]
        after = [w for w in words(cleaned[unit.end() if unit else number.end() :]) if w not in STOPWORDS][:1]
        if counted & {stem(bare(w)) for w in before + after}:
            return True
    return False
