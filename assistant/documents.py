"""Value objects shared by ingest, retrieval and answering.

A `SourceDocument` is what a loader makes of one file: its text as `Section`s
(one per PDF page, Markdown heading, CSV row group ...) plus document metadata.
The chunker turns sections into `Chunk`s, which is what the index stores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit


def web_url(url: str | None) -> str | None:
    """A document's own address, kept only when it is an http(s) URL: a `javascript:` or
    `file:` link from a page's metadata would be shown to users as the document's link."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


@dataclass(frozen=True)
class Section:
    """A run of clean text from one place in a document.

    `page` is the 1-based page number for paged formats (PDF), else None.
    `heading` is the nearest section heading above the text, if any.
    `is_table` marks text whose lines are records (CSV rows, table rows) that
    the chunker keeps whole, line by line, instead of splitting into sentences.
    """

    text: str
    page: int | None = None
    heading: str | None = None
    is_table: bool = False


@dataclass(frozen=True)
class SourceDocument:
    """One loaded file: clean sections plus what the document says about itself."""

    source_id: str
    title: str
    format: str  # "pdf", "docx", "html", "markdown", "text", "csv"
    sections: tuple[Section, ...]
    published: str | None = None  # ISO date "YYYY-MM-DD" or "YYYY-MM" or "YYYY"
    url: str | None = None
    language: str | None = None  # ISO 639-1, filled by the pipeline when the loader does not know
    pages: int | None = None

    @property
    def text(self) -> str:
        """All section text, for language detection and hashing."""
        return "\n\n".join(s.text for s in self.sections)


_WORD = re.compile(r"[^\W\d_]{4,}")  # a word of four letters or more


def _worded(line: str) -> bool:
    """Whether a "column: value" record line's value holds a word of four letters or more (not a link)."""
    _, _, value = line.partition(": ")
    return "://" not in value and bool(_WORD.search(value))


@dataclass(frozen=True)
class Chunk:
    """A piece of a document sized for the embedder, with everything needed to cite it."""

    chunk_id: str
    source_id: str
    text: str
    title: str
    format: str
    ordinal: int
    page: int | None = None
    heading: str | None = None
    language: str | None = None
    published: str | None = None
    url: str | None = None
    groups: tuple[str, ...] = ()  # who may read it (assistant/access.py); none: everyone
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_record(self) -> bool:
        """Whether the chunk is a data record: one row of a CSV export, its lines "column: value"."""
        return self.format == "csv"

    def searchable_text(self) -> str:
        """What word search reads: title and heading give the chunk its context."""
        heading = self.heading if self.heading != self.title else None
        head = " — ".join(p for p in (self.title, heading) if p)
        return f"{head}\n{self.text}" if head else self.text

    def embedding_text(self) -> str:
        """What the embedder reads: the searchable text, but a data record (a CSV row) by its
        worded fields alone, the lines whose value holds a word of four letters or more. Counts,
        codes, bare dates, coordinates and links carry little meaning for the embedder (word search
        still reads them), every row shares the document's title, and a titled row repeats its
        title in its fields: its vector costs half the encoder's time this way."""
        if not self.is_record:
            return self.searchable_text()
        worded = [line for line in self.text.splitlines() if _worded(line)]
        return "\n".join(worded) if worded else self.searchable_text()
