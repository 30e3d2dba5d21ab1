"""Scraped web pages: site navigation before the article and footer junk after it
(`strip_navigation`). Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.text import BULLET
from ingest.cleaning import CLOSERS

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
    return len(text.split()) <= 6 and not text.rstrip(CLOSERS).endswith((".", "!", "?"))


def _is_menu_item(text: str) -> bool:
    return not any(ch.isalnum() for ch in text) or (bool(BULLET.match(text)) and len(text.split()) <= 6)


def _glued_to(label: str, line: str) -> bool:
    """True for "WHO WE AREThe International ..." after the menu label "Who We Are"."""
    if not _is_short(label) or len(line) <= len(label) + 1:
        return False
    return line.lower().startswith(label.lower()) and not line[len(label)].isspace()
