"""Generic text cleanup shared by the loaders: small pure functions, no I/O.

- `normalize_text`: NFC, control characters, ligatures, spaces.
- `looks_binary` / `decode_text`: bytes to text with sensible encoding fallbacks.
- `reflow_lines`: hard-wrapped lines (PDF) back into paragraphs, with hyphenation repair.
- `running_line_keys` / `drop_running_lines`: repeated page headers and footers.
- `strip_navigation`: menu and footer junk at the edges of scraped web pages.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Sequence

from assistant.errors import DocumentError

_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
# Control and format characters except tab and newline; soft hyphens and zero-width marks go too.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b-\u200d\u2060\ufeff\ufffe]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_TERMINAL = ".!?:;"
_CLOSERS = "\"'”’)]»"


def normalize_text(text: str) -> str:
    """NFC-normalise, drop control characters, unify newlines and spaces, trim each line."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _INVISIBLE.sub("", text.translate(_LIGATURES).replace("\f", "\n"))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- bytes to text -------------------------------------------------------------------------

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_TEXT_CONTROLS = frozenset(b"\t\n\r\f")


def looks_binary(data: bytes) -> bool:
    """True when the bytes hold NULs or many control characters: not a text file."""
    sample = data[:65536]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if (b < 32 and b not in _TEXT_CONTROLS) or b == 127)
    return controls > max(2, len(sample) // 100)


def decode_text(data: bytes) -> str:
    """Decode a text file: BOM, then UTF-8, then Windows-1252 / Latin-1 when the bytes are clearly text.

    Raises `DocumentError` for empty or binary files.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise DocumentError(
                    f"not valid {encoding.upper()} after its byte-order mark: save it as UTF-8"
                ) from exc
            return _require_text(text)
    if not data.strip():
        raise DocumentError("file is empty: add some text or remove the file")
    if looks_binary(data):
        raise DocumentError(
            "not text: looks like binary data (NUL bytes or control characters); "
            "check the file extension or export the document as plain text"
        )
    try:
        return _require_text(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    for encoding in ("cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _share_unprintable(text) < 0.01:
            return _require_text(text)
    raise DocumentError("not valid UTF-8 and not recognisable as Windows-1252 text: save it as UTF-8")


def _require_text(text: str) -> str:
    if not text.strip():
        raise DocumentError("file is empty: add some text or remove the file")
    return text


def _share_unprintable(text: str) -> float:
    bad = sum(1 for ch in text if unicodedata.category(ch) in ("Cc", "Co", "Cn") and ch not in "\t\n\r\f")
    return bad / max(1, len(text))


# --- paragraphs from hard-wrapped lines ----------------------------------------------------

BULLET = re.compile(r"^(?:[•●▪◦‣■□➢►✓\-–*]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s+")
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
    if first in "([“\"'" and len(line) > 1 and line[1].islower():
        return True
    ends_sentence = previous.rstrip(_CLOSERS).endswith(tuple(_TERMINAL))
    if len(previous) < 0.7 * width:
        return False
    if ends_sentence and len(line) < 0.6 * width and _looks_like_heading(line):
        return False  # "... in Annex A." then the heading "Methodology"
    # A full line: the paragraph goes on unless the line looks like a heading.
    return ends_sentence or not _looks_like_heading(previous)


def _looks_like_heading(line: str) -> bool:
    """Few words, capitalised (minor words aside), no sentence punctuation at the end."""
    words = line.split()
    if not words or len(words) > 8 or line.rstrip(_CLOSERS).endswith(tuple(_TERMINAL + ",")):
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


# --- scraped web page navigation -----------------------------------------------------------

_FOOTER = re.compile(
    r"©|\bcopyright\b|all rights reserved|privacy (?:policy|notice)|cookie|terms of (?:use|service)"
    r"|follow us|subscribe|newsletter|back to top|skip to (?:main )?content",
    re.IGNORECASE,
)


def strip_navigation(lines: Sequence[str]) -> list[str]:
    """Drop site navigation before the article and footer junk after it; the body is untouched.

    Scraped pages start with menus: short lines without sentence punctuation, labels repeated
    back to back ("About", "About"), menu bullets ("- Take Action"), and labels glued to a teaser
    ("WHO WE AREThe International ..."). A leading or trailing run of such lines is removed when
    it shows these signs of a menu; a lone short title line is kept.
    """
    kept = _drop_repeats(lines)
    start = _navigation_run(kept)
    kept = kept[start:]
    end = len(kept) - _navigation_run(kept[::-1], footer=True)
    return kept[:end]


def _drop_repeats(lines: Sequence[str]) -> list[str]:
    """Drop a short line repeated right after itself ("About", "About")."""
    out: list[str] = []
    for line in lines:
        prior = next((p for p in reversed(out) if p.strip()), None)
        if prior is not None and _is_short(line) and line.strip().lower() == prior.strip().lower():
            continue
        out.append(line)
    return out


def _navigation_run(lines: Sequence[str], footer: bool = False) -> int:
    """How many lines at the start of `lines` form a menu block (0 when they do not)."""
    run = signals = menu_lines = 0
    previous = ""
    for line in lines:
        text = line.strip()
        if not text:
            run += 1
            continue
        glued = bool(previous) and _glued_to(previous, text)
        footer_line = footer and bool(_FOOTER.search(text)) and len(text) < 200
        if not (glued or footer_line or _is_short(text)) or "|" in text:
            break
        run += 1
        menu_lines += 1
        # After the article only footer wording marks junk: a closing list may be content.
        if glued or footer_line or (not footer and _is_menu_item(text)):
            signals += 1
        previous = text
    if footer:
        return run if signals >= 1 else 0
    looks_like_menu = (menu_lines >= 3 and signals >= 1) or menu_lines >= 6
    return run if looks_like_menu else 0


def _is_short(line: str) -> bool:
    text = line.strip()
    return len(text.split()) <= 6 and not text.rstrip(_CLOSERS).endswith((".", "!", "?"))


def _is_menu_item(text: str) -> bool:
    return not any(ch.isalnum() for ch in text) or (bool(BULLET.match(text)) and len(text.split()) <= 6)


def _glued_to(label: str, line: str) -> bool:
    """True for "WHO WE AREThe International ..." after the menu label "Who We Are"."""
    if not _is_short(label) or len(line) <= len(label) + 1:
        return False
    return line.lower().startswith(label.lower()) and not line[len(label)].isspace()


def squeeze_blank_lines(lines: Iterable[str]) -> list[str]:
    """Collapse runs of blank lines to one and trim blank lines at both ends."""
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1].strip()):
            out.append(line.rstrip())
    while out and not out[-1].strip():
        out.pop()
    return out
