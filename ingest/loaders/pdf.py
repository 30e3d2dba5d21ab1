"""PDF files: one section per page, with running headers, footers and page numbers removed,
hyphenation repaired and hard-wrapped lines joined into paragraphs; tables of contents dropped.

Text comes from pypdf. Pages that draw ruled table borders are read with pdfplumber instead
(see `_pdf_tables`): each table row becomes one "cell | cell" line in an `is_table` section
of its own, and the text around the tables stays prose, in page order.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import pypdf

from assistant.documents import Section, SourceDocument
from assistant.errors import DocumentError
from ingest.cleaning import normalize_text
from ingest.loaders._dates import date_from_metadata, find_published
from ingest.loaders._files import clip_title, read_bytes, title_from_filename
from ingest.loaders._limits import ReadLimits
from ingest.loaders._pdf_tables import MIN_RULES, PageBlock, count_rules, read_ruled_pages
from ingest.loaders._tables import render_table
from ingest.reflow import (
    drop_running_lines,
    is_contents_page,
    known_words,
    reflow_lines,
    running_line_key,
    running_line_keys,
)

log = logging.getLogger(__name__)

_MIN_CHARS_PER_PAGE = 20  # less text than this on average: a scan that needs OCR
_COVER_CHARS = 300  # a first page with less text than this is a cover: its title is the bulk
_GENERIC_TITLE = re.compile(r"^(?:microsoft (?:word|powerpoint) - |untitled|document\d*$)", re.IGNORECASE)


def load(path: Path, source_id: str, limits: ReadLimits | None = None) -> SourceDocument:
    """Load a PDF file: one section per page, plus one per table on pages with tables."""
    data = read_bytes(path)
    reader = _open(data)
    try:
        if limits is not None:
            limits.check(len(reader.pages), limits.max_pages, "pages", "MAX_PAGES")
        pages = _read_pages(data, reader)
        metadata = dict(reader.metadata or {})
    except DocumentError:
        raise
    except MemoryError:  # the file reader names the memory limit
        raise
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        raise DocumentError(
            f"damaged PDF ({type(exc).__name__}: {exc}): download or export it again"
        ) from exc
    all_lines = [line for blocks in pages for block in blocks for line in block.lines]
    if sum(len(line) for line in all_lines) < _MIN_CHARS_PER_PAGE * max(1, len(pages)):
        raise DocumentError(
            "no extractable text in the PDF (a scan or images only): it needs OCR, "
            "e.g. `ocrmypdf in.pdf out.pdf`, before it can be ingested"
        )
    running = running_line_keys([[line for block in blocks for line in block.lines] for blocks in pages])
    vocabulary = known_words("\n".join(all_lines))
    sections = [
        section
        for number, blocks in enumerate(pages, 1)
        for section in _page_sections(number, blocks, running, vocabulary)
    ]
    title = _metadata_title(metadata) or _title_from_fonts(reader, pages, running)
    return SourceDocument(
        source_id=source_id,
        title=clip_title(title or title_from_filename(path)),
        format="pdf",
        sections=tuple(sections),
        published=find_published("\n".join(s.text for s in sections[:3]))
        or date_from_metadata(metadata.get("/CreationDate")),
        pages=len(pages),
    )


def _open(data: bytes) -> pypdf.PdfReader:
    """A reader for the PDF bytes, decrypted when an empty password opens it."""
    if b"%PDF-" not in data[:1024]:
        raise DocumentError("not a PDF: the file does not start with %PDF; check the file extension")
    if b"%%EOF" not in data[-4096:]:
        raise DocumentError(
            "truncated PDF: the file ends early (no %%EOF marker); download or export it again"
        )
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
    except MemoryError:  # the file reader names the memory limit
        raise
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        raise DocumentError(
            f"damaged PDF ({type(exc).__name__}: {exc}): download or export it again"
        ) from exc
    if encrypted:
        try:
            opened = reader.decrypt("") != pypdf.PasswordType.NOT_DECRYPTED
        except Exception as exc:  # an unsupported algorithm or a missing crypto library
            log.debug("decrypting with an empty password failed: %s", exc)
            opened = False
        if not opened:
            raise DocumentError("encrypted PDF: remove the password and ingest again")
    return reader


def _read_pages(data: bytes, reader: pypdf.PdfReader) -> list[list[PageBlock]]:
    """Each page as blocks: pdfplumber's for pages with ruled tables, else pypdf's text."""
    ruled = {n for n, page in enumerate(reader.pages, 1) if count_rules(page) >= MIN_RULES}
    plumbed = read_ruled_pages(data, ruled)
    return [
        plumbed.get(n) or [PageBlock(lines=normalize_text(page.extract_text()).split("\n"))]
        for n, page in enumerate(reader.pages, 1)
    ]


def _page_sections(
    number: int, blocks: list[PageBlock], running: Collection[str], vocabulary: Collection[str]
) -> list[Section]:
    sections = []
    for block in blocks:
        if block.rows is not None:
            rows = [[_cell_text(cell, vocabulary) for cell in row] for row in block.rows]
            text = "\n".join(render_table(rows, has_header=False))
        elif is_contents_page(block.lines):
            continue
        else:
            text = "\n".join(reflow_lines(drop_running_lines(block.lines, running), vocabulary))
        if text:
            sections.append(Section(text=text, page=number, is_table=block.rows is not None))
    return sections


def _cell_text(cell: str | None, vocabulary: Collection[str]) -> str:
    if not cell:
        return ""
    return " ".join(reflow_lines(normalize_text(cell).split("\n"), vocabulary))


def _metadata_title(metadata: dict[str, Any]) -> str:
    title = normalize_text(str(metadata.get("/Title") or ""))
    if len(title.split()) < 2 or _GENERIC_TITLE.match(title) or re.search(r"\.(?:docx?|pdf|pptx?)$", title):
        return ""
    return title


def _title_from_fonts(reader: pypdf.PdfReader, pages: list[list[PageBlock]], running: Collection[str]) -> str:
    """The first page's largest text that reads like a title (3-40 words, not a running header)."""
    if not pages:
        return ""
    sized: list[tuple[float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text.strip():
            scale = (abs(tm[3]) or abs(tm[0]) or 1.0) * (abs(cm[3]) or abs(cm[0]) or 1.0)
            sized.append((round(size * scale, 1), text))

    reader.pages[0].extract_text(visitor_text=visit)
    volume: Counter[float] = Counter()
    for size, text in sized:
        volume[size] += len(text.strip())
    if not volume:
        return ""
    body = volume.most_common(1)[0][0]
    larger = [s for s in volume if s > body or (s == body and volume[s] < _COVER_CHARS)]
    lines = [line for block in pages[0] for line in block.lines]
    for size in sorted(larger, reverse=True):
        compact = "".join("".join(text.split()) for s, text in sized if s == size)
        title = _matching_lines(compact, lines)
        if title and 3 <= len(title.split()) <= 40 and running_line_key(title) not in running:
            return title
    return ""


def _matching_lines(compact: str, lines: Sequence[str]) -> str:
    """Consecutive page lines whose text, spaces removed, starts `compact`: the title as laid out."""
    if not compact:
        return ""
    for start in range(len(lines)):
        joined = ""
        picked: list[str] = []
        for line in lines[start:]:
            piece = "".join(line.split())
            if not piece:
                continue
            if not compact.startswith(joined + piece):
                break
            joined += piece
            picked.append(line.strip())
        if picked and len(joined) >= min(len(compact), 12):
            return " ".join(picked)
    return ""
