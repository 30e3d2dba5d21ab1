"""Ruled tables in PDF pages, read with pdfplumber.

pdfplumber is accurate but slow (it lays out every character), so it only reads pages whose
content stream draws cell borders. A page comes back as blocks from top to bottom: prose
lines between tables, and tables as rows of cells.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import pypdf

from ingest.cleaning import normalize_text

log = logging.getLogger(__name__)

MIN_RULES = 8  # thin rectangles on a page before it is worth a table search
_RECTANGLE = re.compile(rb"(-?[\d.]+) (-?[\d.]+) re\b")


@dataclass
class PageBlock:
    """Prose `lines`, or a table's `rows` (cells may be None where merged)."""

    lines: list[str] = field(default_factory=list)
    rows: list[list[str | None]] | None = None


def count_rules(page: pypdf.PageObject) -> int:
    """Thin filled rectangles on a page: the way Word and LaTeX draw table borders."""
    contents = page.get_contents()
    ops = contents.get_data() if contents is not None else b""
    rules = 0
    for match in _RECTANGLE.finditer(ops):
        try:
            width, height = abs(float(match.group(1))), abs(float(match.group(2)))
        except ValueError:
            continue
        if min(width, height) < 2 and max(width, height) > 10:
            rules += 1
    return rules


def read_ruled_pages(data: bytes, numbers: Collection[int]) -> dict[int, list[PageBlock]]:
    """Blocks for each of the 1-based page `numbers`; a page pdfplumber cannot read is left out."""
    if not numbers:
        return {}
    import pdfplumber  # slow to import; needed only for documents with ruled tables

    found: dict[int, list[PageBlock]] = {}
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except Exception as exc:  # pdfminer errors: the caller keeps pypdf's text
        log.warning("table extraction unavailable (%s: %s); keeping plain text", type(exc).__name__, exc)
        return found
    with pdf:
        for number in sorted(numbers):
            page = pdf.pages[number - 1]
            try:
                found[number] = _page_blocks(page)
            except Exception as exc:  # pdfplumber/pdfminer errors: the caller keeps pypdf's text
                log.warning(
                    "table extraction failed on page %d (%s: %s); keeping plain text",
                    number,
                    type(exc).__name__,
                    exc,
                )
            finally:
                page.close()
    return found


def _page_blocks(page: Any) -> list[PageBlock]:
    tables = sorted((t for t in page.find_tables() if _is_real_table(t)), key=lambda t: t.bbox[1])
    blocks: list[PageBlock] = []
    top = 0.0
    for table in tables:
        _, table_top, _, table_bottom = table.bbox
        _add_prose(blocks, page, top, table_top)
        blocks.append(PageBlock(rows=merge_continuation_rows(table.extract())))
        _add_prose(blocks, page, table_top, table_bottom, beside=table.bbox)
        top = max(top, table_bottom)
    _add_prose(blocks, page, top, float(page.height))
    return blocks


def merge_continuation_rows(rows: list[list[str | None]]) -> list[list[str | None]]:
    """Fold a row whose first cell is None (covered by the cell above) into the row above.

    pdfplumber splits a tall cell into one row per ruled band; the pieces belong together.
    """
    merged: list[list[str | None]] = []
    for row in rows:
        if merged and row and row[0] is None:
            above = merged[-1]
            for i, cell in enumerate(row):
                if cell and cell.strip():
                    if i < len(above) and above[i]:
                        above[i] = f"{above[i]}\n{cell}"
                    elif i < len(above):
                        above[i] = cell
        else:
            merged.append(list(row))
    return merged


def _is_real_table(table: Any) -> bool:
    """At least two rows with text, and a row with two filled cells (not a framed text box)."""
    filled = [sum(1 for cell in row if cell and cell.strip()) for row in table.extract()]
    return len([n for n in filled if n]) >= 2 and max(filled, default=0) >= 2


def _add_prose(
    blocks: list[PageBlock],
    page: Any,
    top: float,
    bottom: float,
    beside: tuple[float, float, float, float] | None = None,
) -> None:
    """Add the text of a horizontal band of the page (minus the table `beside`, if any)."""
    top, bottom = max(0.0, top), min(float(page.height), bottom)
    if bottom - top < 1:
        return
    region = page.crop((0, top, page.width, bottom))
    if beside is not None:
        region = region.outside_bbox(beside)
    lines = normalize_text(region.extract_text() or "").split("\n")
    if any(line.strip() for line in lines):
        blocks.append(PageBlock(lines=lines))
