"""Restrictions on a search (source, format, language, publication dates, and who reads: see
assistant/access.py), applied to chunks in memory; independent of the store that holds them."""

from __future__ import annotations

from dataclasses import dataclass, replace

from assistant.access import Reader, may_read
from assistant.documents import Chunk


@dataclass(frozen=True)
class ChunkFilter:
    """Metadata restrictions on a search; empty fields restrict nothing.

    Dates are ISO strings ("2022", "2022-06", "2022-06-14"), compared on the
    document's publication date; documents without a date are excluded by a date range.
    """

    source_ids: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    published_from: str | None = None
    published_to: str | None = None
    reader: Reader = None  # the groups of who asks; None: a local caller, who reads everything

    def is_empty(self) -> bool:
        """True when the filter lets every chunk through."""
        return self.reader is None and not (
            self.source_ids or self.formats or self.languages or self.published_from or self.published_to
        )

    def for_everyone(self) -> ChunkFilter:
        """The same restrictions without the reader's."""
        return replace(self, reader=None)

    def accepts(self, chunk: Chunk) -> bool:
        """Whether a chunk passes the filter."""
        if not may_read(chunk.groups, self.reader):
            return False
        if self.source_ids and chunk.source_id not in self.source_ids:
            return False
        if self.formats and chunk.format not in self.formats:
            return False
        if self.languages and chunk.language not in self.languages:
            return False
        if self.published_from or self.published_to:
            day = date_number(chunk.published)
            if day is None:
                return False
            if self.published_from and day < (date_number(self.published_from) or 0):
                return False
            if self.published_to and day > (date_number(self.published_to, end=True) or 0):
                return False
        return True


def date_number(iso: str | None, end: bool = False) -> int | None:
    """ "2022-06-14" -> 20220614; a year or month alone covers its whole span (start or `end`)."""
    if not iso:
        return None
    parts = iso.split("-")
    try:
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else (12 if end else 1)
        day = int(parts[2]) if len(parts) > 2 else (31 if end else 1)
    except ValueError:
        return None
    return year * 10000 + month * 100 + day
