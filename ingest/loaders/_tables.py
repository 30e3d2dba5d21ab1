"""Tables as readable rows: one line per row, cells joined by " | ".

When a table has a header row and its rows are long, each cell is labelled with its column
("Definition: A person who ...") so that a row read on its own, as a retrieved chunk, still
says what each value means.
"""

from __future__ import annotations

from collections.abc import Sequence

CELL_SEPARATOR = " | "
_LONG_ROW = 80  # characters; shorter rows read fine as plain "a | b | c"
_HEADER_CELL = 60  # a header cell is a short label


def render_table(rows: Sequence[Sequence[str | None]], has_header: bool | None = None) -> list[str]:
    """Render table rows (cells may be None or "" for merged or empty cells) as text lines.

    `has_header` says whether the first row names the columns; None guesses from its cells.
    """
    table = [_clean_row(row) for row in rows]
    table = [row for row in table if any(row)]
    if not table:
        return []
    guessed = _is_header(table) if has_header is None else has_header and len(table) >= 2
    header = table[0] if guessed else None
    body = table[1:] if header else table
    labelled = header is not None and any(len(_plain(row)) > _LONG_ROW for row in body)
    if header is None or not labelled:
        return [line for line in (_plain(row) for row in table) if line]
    return [line for line in (_labelled(header, row) for row in body) if line]


def has_header_row(rows: Sequence[Sequence[str | None]]) -> bool:
    """True when the first row looks like column names: short, distinct, all filled."""
    table = [row for row in (_clean_row(row) for row in rows) if any(row)]
    return bool(table) and _is_header(table)


def _clean_row(row: Sequence[str | None]) -> list[str]:
    cells = [" ".join((cell or "").split()) for cell in row]
    # A merged cell is often returned once per grid column: keep it once.
    return [cell if i == 0 or cell != cells[i - 1] else "" for i, cell in enumerate(cells)]


def _is_header(table: list[list[str]]) -> bool:
    first = table[0]
    labels = [cell for cell in first if cell]
    return (
        len(table) >= 2
        and len(labels) >= 2
        and len(labels) == len(first)
        and len(set(labels)) == len(labels)
        and all(len(cell) <= _HEADER_CELL for cell in labels)
    )


def _plain(row: list[str]) -> str:
    return CELL_SEPARATOR.join(cell for cell in row if cell)


def _labelled(header: list[str], row: list[str]) -> str:
    parts = []
    for i, cell in enumerate(row):
        if not cell:
            continue
        name = header[i] if i < len(header) else ""
        parts.append(f"{name}: {cell}" if name and name != cell else cell)
    return CELL_SEPARATOR.join(parts)
