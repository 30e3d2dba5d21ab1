"""Value objects shared by ingest, retrieval and answering.

A `SourceDocument` is what a loader makes of one file: its text as `Section`s
(one per PDF page, Markdown heading, CSV row group ...) plus document metadata.
The chunker turns sections into `Chunk`s, which is what the index stores.
"""

from __future__ import annotations

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

    def embedding_text(self) -> str:
        """What the embedder reads: title and heading give the chunk its context."""
        heading = self.heading if self.heading != self.title else None
        head = " — ".join(p for p in (self.title, heading) if p)
        return f"{head}\n{self.text}" if head else self.text
