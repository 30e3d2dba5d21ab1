"""Bilingual word lists: Spanish and Albanian words of IOM's domain with their English.

The multilingual encoder behind `crosslingual.py` knows no Albanian, and glosses a Spanish word
only when the pair stands out from both words' neighbours, which left Spanish and Albanian
questions far behind English. These lists are the glossary a terminologist would hand a
translator: one file a language (`assistant/lexicons/<language>.tsv`, `word<TAB>english words`),
written from the language and IOM's Glossary on Migration, not from any question set. A
question word found there is glossed with its English words before the encoder is asked; adding
a language is adding one file. French has none: the encoder glosses French well, some documents
are French, and a French list measured on the tuning part lowered French hit@1 (0.89 -> 0.78).
Country and region names of one word, in French, Spanish and Albanian, come from CLDR
(`load_places`): the encoder glossed "Érythrée" as "three" by spelling.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources

from assistant.text import STOPWORDS, fold, words

FOLDER = "lexicons"  # beside this module
# An inflected word the list lacks ("vlerësimeve") is looked up by its longest listed beginning
# ("vlerësim"): one of at least this many letters, covering at least this share of the word.
MIN_STEM_LETTERS = 5
MIN_STEM_SHARE = 0.7
PLACE_LANGUAGES = ("fr", "es", "sq")  # the languages whose place names are listed besides English
# English names that CLDR has replaced but documents still write ("Turkey" for Türkiye, in the
# Missing Migrants records): a place is agreed with by any of its names.
FORMER_ENGLISH_NAMES = {
    "TR": ("Turkey",),
    "CZ": ("Czech Republic",),
    "MK": ("Macedonia",),
    "SZ": ("Swaziland",),
    "CV": ("Cabo Verde",),
    "CI": ("Ivory Coast",),
}


class Lexicon:
    """Folded foreign words to the English words that translate them."""

    def __init__(self, entries: Mapping[str, tuple[str, ...]]) -> None:
        self._entries = dict(entries)
        self._longest = max(map(len, self._entries), default=0)

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[tuple[str, tuple[str, ...]]]:
        """Every listed word with its English."""
        return list(self._entries.items())

    def english(self, word: str) -> tuple[str, ...]:
        """The English words for a folded question word: as listed, else by its longest listed
        beginning; none when the list has neither."""
        if found := self._entries.get(word):
            return found
        shortest = max(MIN_STEM_LETTERS, int(len(word) * MIN_STEM_SHARE + 0.999))
        for end in range(min(len(word) - 1, self._longest), shortest - 1, -1):
            if found := self._entries.get(word[:end]):
                return found
        return ()


def parse_lexicon(text: str) -> dict[str, tuple[str, ...]]:
    """Entries of one lexicon file: `word<TAB>english words`; `#` starts a comment line."""
    entries: dict[str, tuple[str, ...]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        word, separator, english = line.partition("\t")
        targets = tuple(dict.fromkeys(fold(w) for w in english.split()))
        if not separator or not word.strip() or not targets:
            raise ValueError(f"lexicon line {number}: expected `word<TAB>english words`, got {line!r}")
        entries.setdefault(fold(word.strip()), targets)
    return entries


@cache
def _place_names() -> dict[str, tuple[str, ...]]:
    """Country and region names in French, Spanish and Albanian, folded, with the words of their
    English names, from CLDR (shipped in babel); those written as in English left out."""
    from babel import Locale

    english = Locale("en").territories
    names: dict[str, tuple[str, ...]] = {}
    for language in PLACE_LANGUAGES:
        for code, name in Locale(language).territories.items():
            target = english.get(code)
            if target and fold(name) != fold(target):
                targets = " ".join([target, *FORMER_ENGLISH_NAMES.get(code, ())])
                names.setdefault(
                    fold(name), tuple(dict.fromkeys(w for w in words(targets) if w not in STOPWORDS))
                )
    return names


@cache
def load_places() -> Lexicon:
    """Country and region names of one word with their English: "Érythrée" -> eritrea, "Greqisë"
    (by its listed beginning "greqi") -> greece. A place is as specific as a year: a question
    about Eritrea is not answered by a line about Ethiopia."""
    return Lexicon({name: english for name, english in _place_names().items() if len(words(name)) == 1})


def _name_words(name: str) -> tuple[str, ...]:
    """The words of a folded place name, compounds split ("sud-est": sud, est), no stop words."""
    return tuple(p for p in re.split(r"[\s\-/'’&().,]+", name) if p and p not in STOPWORDS)


@cache
def _places() -> tuple[re.Pattern[str], dict[str, tuple[str, ...]]]:
    """How to find any country or region name of English, French, Spanish or Albanian in a folded
    text (CLDR's, shipped in babel), and for each name the words of the place's other names."""
    from babel import Locale

    names_of: dict[str, set[str]] = {}
    for language in ("en", *PLACE_LANGUAGES):
        for code, name in Locale(language).territories.items():
            names_of.setdefault(code, set()).add(fold(name))
    for code, former in FORMER_ENGLISH_NAMES.items():
        names_of[code].update(fold(name) for name in former)
    others: dict[str, tuple[str, ...]] = {}
    for names in names_of.values():
        every = dict.fromkeys(w for name in sorted(names) for w in _name_words(name))
        for name in sorted(names):
            own = set(_name_words(name))
            others.setdefault(name, tuple(w for w in every if w not in own))
    longest_first = sorted((n for n in others if _name_words(n)), key=len, reverse=True)
    alternation = "|".join(re.escape(n).replace("’", "['’]") for n in longest_first)  # either apostrophe
    return re.compile(rf"\b(?:{alternation})\b"), others


def place_names(text: str) -> list[str]:
    """The country and region names a text holds, folded, in any of the four languages."""
    pattern, _ = _places()
    return list(dict.fromkeys(m.group(0) for m in pattern.finditer(fold(text))))


def place_equivalents(question: str) -> list[tuple[str, str]]:
    """The words of the places a question names, each with the words of the place's names in the
    other languages: "República Dominicana" agrees with "République dominicaine" and "Dominican
    Republic"; "Países Bajos" -> (paises, netherlands), (bajos, nederland) ..."""
    _, others = _places()
    found = dict.fromkeys(name.replace("'", "’") for name in place_names(question))
    pairs = []
    for name in found:
        key = name if name in others else name.replace("’", "'")
        pairs += [(word, target) for word in _name_words(key) for target in others.get(key, ())]
    return list(dict.fromkeys(pairs))


@cache
def load_lexicon() -> Lexicon:
    """Every language's list shipped with the package, merged (a word in two lists keeps the
    first file's English, in file-name order), then the place names (`load_places`)."""
    entries: dict[str, tuple[str, ...]] = {}
    files = sorted(
        (f for f in resources.files("assistant").joinpath(FOLDER).iterdir() if f.name.endswith(".tsv")),
        key=lambda f: f.name,
    )
    for file in files:
        try:
            parsed = parse_lexicon(file.read_text("utf-8"))
        except ValueError as exc:
            raise ValueError(f"assistant/{FOLDER}/{file.name}: {exc}") from exc
        for word, english in parsed.items():
            entries.setdefault(word, english)
    for word, english in load_places().entries():
        entries.setdefault(word, english)
    return Lexicon(entries)
