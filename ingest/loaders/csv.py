"""CSV files: one section per row, rendered as "column: value" lines.

The dialect is sniffed (comma, semicolon, tab, pipe); a byte-order mark, fields that span
several lines and rows longer or shorter than the header are handled. A section's heading is
the row's title (from a "Title"/"Name" column) when the file has one, else "Row N".
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from assistant.documents import Section, SourceDocument
from assistant.errors import DocumentError
from ingest.loaders._files import clip_title, read_text, title_from_filename
from ingest.loaders._limits import ReadLimits

_LABEL_COLUMNS = ("title", "name", "label", "subject", "headline")


def load(path: Path, source_id: str, limits: ReadLimits | None = None) -> SourceDocument:
    """Load a CSV file, one section per data row."""
    text = read_text(path)
    rows = _parse(text)
    if limits is not None:
        limits.check(max(len(row) for row in rows), limits.max_columns, "columns", "MAX_COLUMNS")
    header = _column_names(rows[0])
    records = [row for row in rows[1:] if any(cell.strip() for cell in row)]
    if not records:
        raise DocumentError("no rows: the CSV has a header but no data; add rows or remove the file")
    label = _label_column(header)
    sections = []
    for number, row in enumerate(records, start=1):
        lines = _record_lines(header, row)
        if not lines:
            continue
        title = _one_line(row[label]) if label is not None and label < len(row) else ""
        heading = clip_title(title, 150) if title else f"Row {number}"
        sections.append(Section(text="\n".join(lines), heading=heading, is_table=True))
    return SourceDocument(
        source_id=source_id,
        title=title_from_filename(path),
        format="csv",
        sections=tuple(sections),
    )


def _parse(text: str) -> list[list[str]]:
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), _dialect(text)))
    except csv.Error as exc:
        raise DocumentError(
            f"not a readable CSV ({exc}): check the quoting, or save it again as CSV"
        ) from exc
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise DocumentError("file is empty: add some text or remove the file")
    return rows


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    """The sniffed dialect, or Excel's when sniffing fails or finds a single column."""
    sample = text[:65536]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel
    first_line = sample.split("\n", 1)[0]
    if dialect.delimiter not in first_line or (dialect.quotechar or '"') not in "\"'":
        return csv.excel
    return dialect


def _column_names(header: list[str]) -> list[str]:
    names: list[str] = []
    taken: set[str] = set()
    for i, raw in enumerate(header, start=1):
        name = _one_line(raw) or f"Column {i}"
        while name in taken:
            name = f"{name} ({i})"
        names.append(name)
        taken.add(name)
    return names


def _label_column(header: list[str]) -> int | None:
    lowered = [name.lower() for name in header]
    for wanted in _LABEL_COLUMNS:
        if wanted in lowered:
            return lowered.index(wanted)
    return None


def _record_lines(header: list[str], row: list[str]) -> list[str]:
    lines = []
    for i, raw in enumerate(row):
        value = _one_line(raw)
        if value:
            name = header[i] if i < len(header) else f"Column {i + 1}"
            lines.append(f"{name}: {value}")
    return lines


def _one_line(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip()
