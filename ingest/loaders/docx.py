"""Word (.docx) files: paragraphs and tables in body order, headings as section headings.

A heading is a paragraph in a "Heading N" or "Title" style, or a short paragraph set all in
bold. Tables become one line per row ("cell | cell", or "Column: value" when the table has a
header row and long rows); merged cells appear once. A table split by empty rows into blocks
(a management response matrix: one block per recommendation) gives one section per block.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path

import docx
from docx.document import Document
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from assistant.documents import Section, SourceDocument
from assistant.errors import DocumentError
from ingest.cleaning import normalize_text
from ingest.loaders._dates import date_from_metadata, find_published
from ingest.loaders._files import clip_title, read_bytes, title_from_filename
from ingest.loaders._limits import ReadLimits
from ingest.loaders._tables import CELL_SEPARATOR, has_header_row, render_table

log = logging.getLogger(__name__)

_HEADING_STYLES = ("heading", "title", "subtitle")
_TERMINAL = (".", "!", "?", ";", ",")


def load(path: Path, source_id: str, limits: ReadLimits | None = None) -> SourceDocument:
    """Load a Word document."""
    data = read_bytes(path)
    try:
        if limits is not None:  # a DOCX is a zip: its directory says what it unpacks to
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                unpacked = sum(item.file_size for item in archive.infolist()) // (1024 * 1024)
            limits.check(unpacked, limits.max_unpacked_mb, "MB unpacked", "MAX_UNPACKED_MB")
        document = docx.Document(io.BytesIO(data))
        sections, title_headings, first_lines = _read_body(document)
        core = document.core_properties
        meta_title, meta_date = normalize_text(core.title or ""), core.created
    except DocumentError:
        raise
    except MemoryError:  # the file reader names the memory limit
        raise
    except Exception as exc:  # python-docx and zipfile raise many kinds of errors on bad files
        raise DocumentError(
            f"not a readable DOCX ({type(exc).__name__}): open it in Word and save it again as .docx "
            "(an old .doc renamed to .docx will not work)"
        ) from exc
    if not sections:
        raise DocumentError("no text found in the document: it may hold only images")
    first_text = "\n".join(first_lines)
    return SourceDocument(
        source_id=source_id,
        title=clip_title(_title(meta_title, title_headings, first_lines) or title_from_filename(path)),
        format="docx",
        sections=tuple(sections),
        published=find_published(first_text) or date_from_metadata(meta_date),
    )


def _read_body(document: Document) -> tuple[list[Section], list[str], list[str]]:
    """Sections in body order, headings in a heading style, and the first few paragraphs' text."""
    sections: list[Section] = []
    headings: list[str] = []
    first_lines: list[str] = []
    prose: list[str] = []
    heading: str | None = None

    def flush() -> None:
        if prose:
            sections.append(Section(text="\n".join(prose), heading=heading))
            prose.clear()

    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = normalize_text(item.text).replace("\n", " ")
            if not text:
                continue
            if len(first_lines) < 12:
                first_lines.append(text)
            if _is_heading(item, text):
                flush()
                heading = text
                if _has_heading_style(item):
                    headings.append(text)
            else:
                prose.append(text)
        else:
            flush()
            for block_heading, lines in _table_blocks(item):
                sections.append(
                    Section(text="\n".join(lines), heading=block_heading or heading, is_table=True)
                )
    flush()
    return sections, headings, first_lines


def _has_heading_style(paragraph: Paragraph) -> bool:
    style = (paragraph.style.name or "").lower() if paragraph.style is not None else ""
    return style.startswith(_HEADING_STYLES)


def _is_heading(paragraph: Paragraph, text: str) -> bool:
    if _has_heading_style(paragraph):
        return True
    runs = [run for run in paragraph.runs if run.text.strip()]
    short = len(text.split()) <= 12 and not text.endswith(_TERMINAL)
    return short and bool(runs) and all(run.bold for run in runs)


def _title(meta_title: str, styled_headings: list[str], first_lines: list[str]) -> str:
    """Core properties title, else the first Title/Heading paragraph, else a short first paragraph."""
    if meta_title:
        return meta_title
    if styled_headings:
        return styled_headings[0]
    if first_lines and len(first_lines[0].split()) <= 15 and not first_lines[0].endswith(_TERMINAL):
        return first_lines[0]
    return ""


def _table_blocks(table: Table) -> Iterator[tuple[str | None, list[str]]]:
    """(heading, row lines) per block of rows between empty rows."""
    rows = _cell_texts(table)
    with_header = has_header_row(rows)
    header, body = (rows[0], rows[1:]) if with_header else (None, rows)
    blocks: list[list[list[str]]] = [[]]
    for row in body:
        if any(row):
            blocks[-1].append(row)
        elif blocks[-1]:
            blocks.append([])
    split = len([b for b in blocks if b]) > 1
    for block in blocks:
        if not block:
            continue
        lines = render_table([header, *block] if header else block, has_header=with_header)
        if lines:
            yield (_block_label(lines[0]) if split else None), lines


def _block_label(first_line: str) -> str | None:
    """ "Evaluation recommendation # 1: The AAP team ..." -> "Evaluation recommendation # 1"."""
    label, sep, _ = first_line.partition(":")
    return label.strip() if sep and 0 < len(label) <= 60 and CELL_SEPARATOR not in label else None


def _cell_texts(table: Table) -> list[list[str]]:
    """Each row's cell texts; a cell merged across columns or rows is kept once."""
    rows: list[list[str]] = []
    above: list[object] = []
    for row in table.rows:
        cells: list[str] = []
        elements: list[object] = []
        for i, cell in enumerate(row.cells):
            element = cell._tc
            repeated = element in elements or (i < len(above) and above[i] is element)
            elements.append(element)
            cells.append("" if repeated else _cell_text(cell))
        above = elements
        rows.append(cells)
    return rows


def _cell_text(cell: _Cell) -> str:
    """A cell's paragraphs on one line; a paragraph without end punctuation is closed with ";"."""
    parts = [" ".join(normalize_text(p.text).split()) for p in cell.paragraphs]
    parts = [part for part in parts if part]
    for nested in cell.tables:
        parts.extend(CELL_SEPARATOR.join(c for c in row if c) for row in _cell_texts(nested) if any(row))
    out = ""
    for part in parts:
        if out:
            out += " " if out.endswith((".", "!", "?", ":", ";")) else "; "
        out += part
    return out
