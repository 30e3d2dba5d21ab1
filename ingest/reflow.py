"""Text of PDF pages made readable: hard-wrapped lines back into paragraphs with hyphenation
repaired (`reflow_lines`), running headers and footers (`running_line_keys`,
`drop_running_lines`), page numbers and tables of contents (`is_contents_page`). Pure functions.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Sequence

from assistant.text import BULLET
from ingest.cleaning import CLOSERS, TERMINAL

# --- paragraphs from hard-wrapped lines ----------------------------------------------------

_WORD = re.compile(r"[^\W\d_]+(?:[-‐][^\W\d_]+)*")
_HYPHENATED_END = re.compile(r"([^\W\d_]+)[-‐]$")
_WORD_START = re.compile(r"^([^\W\d_]+)")
# Left halves that form real compounds ("well-being", "self-reliance"); others are line-end splits.
_COMPOUND_HEADS = frozenset(
    "well self cross non ex multi co long short full high low small large mid post pre semi anti "
    "gender rights community country evidence data results needs region area".split()
)


def known_words(text: str) -> frozenset[str]:
    """The lower-cased words (hyphenated or not) of a text: evidence for hyphenation repair."""
    return frozenset(match.group(0).lower().replace("‐", "-") for match in _WORD.finditer(text))


def join_hyphenated(left: str, right: str, vocabulary: Collection[str] = ()) -> str:
    """Join a line ending in a hyphen to the next line: "informa-" + "tion" -> "information".

    The hyphen stays when the next line starts with a capital or digit ("EU-" + "IOM"), when the
    document itself writes the hyphenated form and never the joined one, or when the first half
    is a common compound head ("well-being", "self-reliance").
    """
    end = _HYPHENATED_END.search(left)
    start = _WORD_START.match(right)
    if not end or not start or not start.group(1)[0].islower():
        glue = "" if left.endswith(("-", "‐", "–", "/")) else " "
        return f"{left}{glue}{right}"
    head, tail = end.group(1), start.group(1)
    joined, hyphenated = f"{head}{tail}".lower(), f"{head}-{tail}".lower()
    keep_hyphen = hyphenated in vocabulary and joined not in vocabulary
    if joined not in vocabulary and head.lower() in _COMPOUND_HEADS:
        keep_hyphen = True
    if keep_hyphen:
        return f"{left[:-1]}-{right}"
    return f"{left[:-1]}{right}"


def reflow_lines(lines: Sequence[str], vocabulary: Collection[str] = ()) -> list[str]:
    """Re-join hard-wrapped lines into paragraphs, one paragraph per returned line.

    A line continues the previous one unless the previous line is short (a heading, the last
    line of a paragraph) and this one starts with a capital, or this line is a bullet item.
    Blank lines always end a paragraph.
    """
    stripped = [line.strip() for line in lines]
    width = typical_line_length(stripped)
    paragraphs: list[str] = []
    current = ""
    previous = ""
    for line in stripped:
        if not line:
            if current:
                paragraphs.append(current)
            current = previous = ""
            continue
        if current and not BULLET.match(line) and _continues(previous, line, width):
            current = join_hyphenated(current, line, vocabulary)
        else:
            if current:
                paragraphs.append(current)
            current = line
        previous = line
    if current:
        paragraphs.append(current)
    return paragraphs


def typical_line_length(lines: Sequence[str]) -> int:
    """The length of a full line of body text: the 80th percentile of non-empty line lengths."""
    lengths = sorted(len(line) for line in lines if line)
    if not lengths:
        return 0
    return lengths[min(len(lengths) - 1, math.floor(0.8 * len(lengths)))]


def _continues(previous: str, line: str, width: int) -> bool:
    first = line[0]
    if previous.endswith(("-", "‐", ",", "(", "/")) or first.islower():
        return True
    if previous.rsplit(None, 1)[-1].lower() in _MINOR_WORDS:  # "IOM has established a" / "Telegram"
        return True
    if first in "([“\"'" and len(line) > 1 and line[1].islower():
        return True
    ends_sentence = previous.rstrip(CLOSERS).endswith(tuple(TERMINAL))
    if len(previous) < 0.7 * width:
        return False
    if ends_sentence and len(line) < 0.6 * width and _looks_like_heading(line):
        return False  # "... in Annex A." then the heading "Methodology"
    # A full line: the paragraph goes on unless the line looks like a heading.
    return ends_sentence or not _looks_like_heading(previous)


def _looks_like_heading(line: str) -> bool:
    """Few words, capitalised (minor words aside), no sentence punctuation at the end."""
    words = line.split()
    if not words or len(words) > 8 or line.rstrip(CLOSERS).endswith(tuple(TERMINAL + ",")):
        return False
    return words[0][0].isupper() and all(
        w[0].isupper() or not w[0].isalpha() or w.lower() in _MINOR_WORDS for w in words
    )


_MINOR_WORDS = frozenset(
    "a an and as at by for from in of on or the to with de des du et la le les en".split()
)


# --- running headers and footers -----------------------------------------------------------

_PAGE_NUMBER = re.compile(
    r"^(?:[-–—]\s*)?(?:page\s+|p\.\s*)?\d{1,4}(?:\s*(?:of|/|de|sur)\s*\d{1,4})?(?:\s*[-–—])?"
    r"(?:\s*\|\s*p\s*a\s*g\s*e)?$",
    re.IGNORECASE,
)


def is_page_number(line: str) -> bool:
    """ "7", "- 7 -", "Page 7 of 12", "7 | P a g e"."""
    return bool(_PAGE_NUMBER.match(line.strip()))


def running_line_key(line: str) -> str:
    """What a header/footer line looks like on every page: digits and edge numbers blurred."""
    key = re.sub(r"\d+", "#", " ".join(line.split()).lower())
    trimmed = re.sub(r"^#\s+|\s+#$", "", key)
    return trimmed or key


def running_line_keys(pages: Sequence[Sequence[str]], edge: int = 5) -> frozenset[str]:
    """Keys of lines that repeat at the top or bottom of many pages (running headers, footers).

    A line counts when it sits among the first or last `edge` non-empty lines of a page and its
    key appears there on at least a quarter of the pages (every page for documents of 2-4 pages).
    """
    if len(pages) < 2:
        return frozenset()
    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({running_line_key(line) for line in _edge_lines(lines, edge)})
    needed = len(pages) if len(pages) <= 4 else max(3, math.ceil(len(pages) / 4))
    return frozenset(key for key, n in counts.items() if n >= needed)


def drop_running_lines(lines: Sequence[str], keys: Collection[str], edge: int = 5) -> list[str]:
    """Remove running headers/footers (by key) and page numbers from the edges of one page."""
    nonempty = [i for i, line in enumerate(lines) if line.strip()]
    edges = set(nonempty[:edge] + nonempty[-edge:])
    return [
        line
        for i, line in enumerate(lines)
        if i not in edges or not (is_page_number(line) or running_line_key(line) in keys)
    ]


def _edge_lines(lines: Sequence[str], edge: int) -> list[str]:
    nonempty = [line for line in lines if line.strip()]
    return nonempty[:edge] + nonempty[-edge:]


# --- tables of contents ----------------------------------------------------------------------

_DOT_LEADER = re.compile(r"(?:\.\s?){5,}|…{2,}")


def is_contents_page(lines: Sequence[str]) -> bool:
    """A table of contents or list of figures: a third or more of its lines run into a dot leader.

    Its headings say where facts stand, not the facts, and each leader is a hundred word pieces
    of "." in a chunk. Form fields ("Name: ........") come one or two to a page and stay.
    """
    text = [line for line in lines if line.strip()]
    leaders = sum(1 for line in text if _DOT_LEADER.search(line))
    return leaders >= 3 and 3 * leaders >= len(text)
