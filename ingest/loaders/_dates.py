"""Publication dates: the date a document states near its start, or in its metadata.

Dates come back as ISO strings as precise as the document is: "2022-06-14", "2024-12" or "2024".
"""

from __future__ import annotations

import datetime as dt
import re

from assistant.text import MONTH_PATTERN, MONTHS, YEAR_PATTERN

_MONTH = rf"(?P<month>{MONTH_PATTERN})"  # with its dot, if any, which _iso drops
_YEAR = rf"(?P<year>{YEAR_PATTERN})\b"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th|er)?"
_MORE_DAYS = r"(?:\s*(?:and|et|y|&|-|–|to)\s*[0-3]?\d(?:st|nd|rd|th)?)?"

_PATTERNS = (
    re.compile(rf"\b(?P<year>{YEAR_PATTERN})-(?P<month>[01]\d)-(?P<day>[0-3]\d)\b"),
    re.compile(rf"\b{_MONTH}\s+{_DAY}{_MORE_DAYS},?\s+{_YEAR}", re.IGNORECASE),
    re.compile(rf"\b{_DAY}{_MORE_DAYS}\s+(?:de\s+)?{_MONTH},?\s+(?:de\s+)?{_YEAR}", re.IGNORECASE),
    re.compile(rf"\b{_MONTH},?\s+(?:de\s+)?{_YEAR}", re.IGNORECASE),
)
_LABEL = re.compile(
    r"(?:date of publication|publication date|published(?: on)?|(?:final )?report date"
    r"|date du rapport(?: final)?|date de publication|fecha de publicación)\s*:?\s*",
    re.IGNORECASE,
)


def find_published(text: str, within: int = 2000) -> str | None:
    """The date stated near the start of `text` ("On June 14 and 15, 2022" -> "2022-06-14").

    A date after a label such as "Date of publication:" (within the first `3 * within`
    characters) wins; otherwise the first date in the first `within` characters.
    """
    wide = text[: 3 * within]
    for label in _LABEL.finditer(wide):
        labelled = _first_date(wide[label.end() : label.end() + 40])
        if labelled and wide[label.end() :].lstrip().startswith(labelled[1]):
            return labelled[0]
    first = _first_date(text[:within])
    return first[0] if first else None


def _first_date(text: str) -> tuple[str, str] | None:
    """The earliest date in `text` as (iso, matched text)."""
    best: tuple[int, str, str] | None = None
    for pattern in _PATTERNS:
        for match in pattern.finditer(text):
            iso = _iso(match)
            if iso is None:
                continue
            if best is None or match.start() < best[0]:
                best = (match.start(), iso, match.group(0))
            break
    return (best[1], best[2]) if best else None


def _iso(match: re.Match[str]) -> str | None:
    parts = match.groupdict()
    year = int(parts["year"])
    month_text = parts["month"].lower().rstrip(".")
    month = int(month_text) if month_text.isdigit() else MONTHS.get(month_text)
    if month is None or not 1 <= month <= 12:
        return None
    if parts.get("day") is None:
        return f"{year:04d}-{month:02d}"
    try:
        return dt.date(year, month, int(parts["day"])).isoformat()
    except ValueError:
        return None


_PDF_DATE = re.compile(rf"^(?:D:)?(?P<year>{YEAR_PATTERN})(?P<month>[01]\d)?(?P<day>[0-3]\d)?")


def date_from_metadata(value: object) -> str | None:
    """A metadata date (datetime, "D:20250221140027+01'00'", "2024-12-01T...") as ISO."""
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%Y-%m-%d")
    if not isinstance(value, str):
        return None
    text = value.strip()
    iso = re.match(r"^((?:19|20)\d\d)-([01]\d)(?:-([0-3]\d))?", text)
    if iso:
        return "-".join(part for part in iso.groups() if part)
    match = _PDF_DATE.match(text)
    if not match:
        return None
    year, month, day = match.group("year"), match.group("month"), match.group("day")
    if month and day:
        try:
            return dt.date(int(year), int(month), int(day)).isoformat()
        except ValueError:
            return year
    return f"{year}-{month}" if month else year
