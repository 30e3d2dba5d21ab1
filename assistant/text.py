"""Sentence splitting and word normalisation shared by chunking, answering and evaluation.

Rule-based on purpose: no model to download, deterministic, fast enough to split
every retrieved passage on each question.
"""

from __future__ import annotations

import re
import unicodedata

# A run of end marks is matched from its first mark only, and whole (no backtracking into it): a
# line of 300,000 dots is read in one pass, not once from every dot.
_OPENING = r"""["“‘(\[]?[A-ZÀ-ÖØ-Þ0-9•\-–]"""  # how a sentence starts: a capital, a digit, a bullet
_SENTENCE_END = re.compile(rf"""(?<![.!?…])([.!?…]++["”’)\]]*)(\s+)(?={_OPENING})""")
_SPACES = re.compile(r"\s+")
# A list-item marker at the start of a line or sentence: "• ", "- ", "3. ", "(2) ", "a) ".
BULLET = re.compile(r"^\s*(?:[•●▪◦‣■□➢►✓\-–*]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s+")


def opens_sentence(text: str) -> bool:
    """Whether a text starts as `split_sentences` expects a sentence after a full stop to start."""
    return re.match(_OPENING, text) is not None


def split_sentences(text: str) -> list[str]:
    """Split text into sentences; line breaks between bullet items or table rows also split."""
    sentences: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line:
            sentences.extend(_split_line(line))
    return sentences


def _split_line(line: str) -> list[str]:
    parts: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(line):
        end = match.end(1)
        candidate = line[start:end]
        last_word = candidate.rstrip('.!?…"”’)]').rsplit(None, 1)[-1:] or [""]
        word = last_word[0].lower().strip("(")
        if match.group(1).startswith(".") and (word in _ABBREVIATIONS or _is_initial(word)):
            continue
        parts.append(candidate.strip())
        start = match.end()
    tail = line[start:].strip()
    if tail:
        parts.append(tail)
    return parts


def _is_initial(word: str) -> bool:
    """A single letter ("J." in "J. Smith") or a dotted acronym ("U.N.")."""
    return (len(word) == 1 and word.isalpha()) or bool(re.fullmatch(r"(?:[a-z]\.)+[a-z]?", word))


def is_acronym(token: str) -> bool:
    """Two or more capitals making at least half the letters, no digits ("IOM", "JI-HoA")."""
    letters = [c for c in token if c.isalpha()]
    capitals = sum(c.isupper() for c in letters)
    return not any(c.isdigit() for c in token) and capitals >= 2 and 2 * capitals >= len(letters)


def strip_bullet(sentence: str) -> str:
    """Remove a leading bullet or list number."""
    return BULLET.sub("", sentence, count=1)


def shorten(text: str, limit: int) -> str:
    """`text` on one line; cut and ended with "…" when longer than `limit` characters."""
    text = _SPACES.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_WORD = re.compile(r"[^\W_]+(?:[.,'’\-/][^\W_]+)*", re.UNICODE)


# Month names and their abbreviations in English, French and Spanish, with their number: the one
# table for reading dates (ingest), matching them (the reader) and comparing them (evaluation).
MONTHS = {
    # English
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
    # French
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
    "juillet": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "décembre": 12, "decembre": 12,
    "janv": 1, "févr": 2, "fevr": 2, "avr": 4, "juil": 7, "déc": 12,
    # Spanish
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
    # Albanian
    "janar": 1, "shkurt": 2, "prill": 4, "maj": 5, "qershor": 6, "korrik": 7, "gusht": 8,
    "shtator": 9, "tetor": 10, "nëntor": 11, "nentor": 11, "dhjetor": 12,
}  # fmt: skip
ENGLISH_MONTHS = tuple(name for name, _ in sorted(list(MONTHS.items())[:12], key=lambda item: item[1]))
_ENGLISH_MONTH_ABBREVIATIONS = tuple(list(MONTHS)[12:24])  # the English abbreviations, "jan" ... "dec"
# A month name or abbreviation of MONTHS (the longest that fits), with the dot of an abbreviation.
MONTH_PATTERN = "(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
# A year of four digits from 1900 to 2099.
YEAR_PATTERN = r"(?:19|20)\d\d"

# Abbreviations after which a full stop does not end a sentence (lower case, no dot).
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof st no nos vol fig figs p pp para paras art e.g i.e etc al vs cf approx
    inc ltd co corp dept univ gov govt rev gen col lt sgt capt cmdr hon mt ft u.s u.k u.n ref
    refs ed eds
    """.split()
) | frozenset(_ENGLISH_MONTH_ABBREVIATIONS)


def fold(text: str) -> str:
    """Lower-case and strip accents, for matching words across spellings. ASCII text, most of the
    documents, has no accents to strip: it is returned at once (an answer folds its passages a
    few times over, some 40,000 characters; one by one that was 9 ms of CPU)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    if decomposed.isascii():
        return decomposed
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Folded, as `words` gives them: the function words of each language staff write in.
FUNCTION_WORDS = {
    language: frozenset(fold(w) for w in listed.split())
    for language, listed in {
        "en": """a an the and or but if of to in on at by for with from as is are was were be been
        being this that these those it its into over under about than then there their they them he
        she his her we our you your i me my not no do does did done has have had having will would
        shall should can could may might must also which who whom whose what when where why how all
        any each other some such only own same so too very s t just more most both few further here
        once out up down off again against between through during before after above below while""",
        "fr": """de la le les des du et en un une est pour par dans sur au aux que qui ce cette ces il
        elle quel quelle quels quelles quoi dont ou sont ont été était avec leur leurs selon comment
        combien quand pourquoi""",
        "es": """de la el los las del y en un una es por con para se al lo que qué cuál cuáles cual
        cuales quién quiénes cuándo cuánto cuántos cuántas dónde cómo según fue fueron han sus su
        más""",
        "sq": """çfarë cili cila cilat cilët cilin cilën cilit cilës cilave cilëve kush kur sa ku si
        pse përse sipas në të e i u me për nga dhe ishte janë është ka kanë jam jemi jeni isha ishin
        kam ke kemi keni kishte kishin qenë nuk mos duhet mund ose apo edhe nëse sepse që ndërsa
        ai ajo ata ato ky kjo këta këto atë këtë këtij kësaj atij asaj atyre këtyre tij saj tyre im
        ime ynë jonë juaj ne ju ndaj nën mbi prej tek deri përpara gjatë midis ndërmjet rreth
        kundër pranë afër brenda jashtë përmes nëpër tani atje këtu kështu ashtu shumë pak vetëm
        gjithashtu gjithë çdo secili tashmë ende""",
    }.items()
}
STOPWORDS = frozenset().union(*FUNCTION_WORDS.values())


def function_language(text: str) -> str | None:
    """The language whose function words the text uses most ("en", "fr", "es", "sq"); None when
    it uses none, or two languages as often ("de la" alone is French or Spanish)."""
    counts = dict.fromkeys(FUNCTION_WORDS, 0)
    for word in words(text):
        for language, listed in FUNCTION_WORDS.items():
            counts[language] += word in listed
    ranked = sorted(counts.values(), reverse=True)
    if ranked[0] == 0 or ranked[0] == ranked[1]:
        return None
    return max(counts, key=counts.__getitem__)


def words(text: str) -> list[str]:
    """Words of a text, folded; numbers keep inner separators ("2,429", "14-15")."""
    return _WORD.findall(fold(text))
