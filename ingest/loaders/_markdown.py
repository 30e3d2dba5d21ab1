"""Markdown (and plain text) to sections: one per heading block, tables as rows.

Used for .md and .txt files, and for the Markdown that trafilatura makes of web pages.
Inline syntax (emphasis, links, images, code, HTML tags) becomes plain text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.documents import Section
from assistant.text import BULLET
from ingest.loaders._tables import render_table

_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_SETEXT = re.compile(r"^ {0,3}(?:=+|-{3,})\s*$")
_RULE = re.compile(r"^ {0,3}(?:(?:\*\s*){3,}|(?:-\s*){3,}|(?:_\s*){3,})$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_LINK_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*\S+")

_INLINE = (
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # image -> alt text
    (re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)"), r"\1"),  # [text](url) -> text
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # [text][ref] -> text
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),  # <https://...> -> url
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"), r"\1"),
    (re.compile(r"(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)"), r"\1"),
    (re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<!\w)_(?=\S)([^_]+?)(?<=\S)_(?!\w)"), r"\1"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
    (re.compile(r"<br\s*/?>", re.IGNORECASE), " "),
    (re.compile(r"</?[a-zA-Z][^<>]*>"), ""),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|])"), r"\1"),
)
_TERMINAL = (".", "!", "?", ":", ";")


def _without_comments(text: str) -> str:
    """The text without its closed HTML comments, in one pass: an opening `<!--` with no `-->`
    after it (nor any later one) stays text. (A lazy regex would rescan to the end of the text
    from every unclosed opening: minutes for a file of them.)"""
    kept: list[str] = []
    position = 0
    while (start := text.find("<!--", position)) != -1:
        end = text.find("-->", start + 4)
        if end == -1:
            break
        kept.append(text[position:start])
        position = end + 3
    kept.append(text[position:])
    return "".join(kept)


def plain_inline(text: str) -> str:
    """Markdown inline syntax to plain text: emphasis, links (keep the text), code, tags."""
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return " ".join(html.unescape(text).split())


@dataclass
class _Block:
    """Lines under one heading, before they become sections."""

    heading: str | None
    parts: list[tuple[bool, list[str]]]  # (is_table, lines)


def markdown_sections(text: str, heading: str | None = None) -> tuple[list[Section], list[str]]:
    """Sections of a Markdown text, and its headings in order (the first H1 usually titles it).

    `heading` is the heading of any text before the first Markdown heading.
    """
    lines = _without_comments(text).split("\n")
    blocks = [_Block(heading, [])]
    headings: list[tuple[int, str]] = []
    prose: list[str] = []
    in_code = False
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if _FENCE.match(line):
            in_code = not in_code
        elif in_code:
            prose.append(line.rstrip())
        elif (atx := _ATX.match(line)) or _is_setext(line, nxt, prose):
            level, title = (len(atx.group(1)), atx.group(2)) if atx else (1 if "=" in nxt else 2, line)
            _flush_prose(blocks[-1], prose)
            title = plain_inline(title)
            headings.append((level, title))
            blocks.append(_Block(title or blocks[-1].heading, []))
            i += 0 if atx else 1
        elif "|" in line and _TABLE_SEPARATOR.match(nxt) and "|" in nxt:
            _flush_prose(blocks[-1], prose)
            table = [line]
            i += 2
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                table.append(lines[i])
                i += 1
            blocks[-1].parts.append((True, _table_rows(table)))
            continue
        elif _RULE.match(line) or _LINK_DEFINITION.match(line):
            prose.append("")
        else:
            prose.append(line)
        i += 1
    _flush_prose(blocks[-1], prose)
    sections = [
        Section(text="\n".join(part), heading=block.heading, is_table=is_table)
        for block in blocks
        for is_table, part in block.parts
        if part
    ]
    ordered = [title for _, title in sorted(headings, key=lambda h: h[0])]
    return sections, ordered


def _is_setext(line: str, nxt: str, prose: list[str]) -> bool:
    """A text line underlined with === or --- (not a list item, not after a paragraph line)."""
    return (
        bool(line.strip())
        and bool(_SETEXT.match(nxt))
        and not BULLET.match(line.strip())
        and "|" not in line
        and (not prose or not prose[-1].strip())
    )


def _flush_prose(block: _Block, prose: list[str]) -> None:
    paragraphs = paragraphs_of(prose)
    if paragraphs:
        block.parts.append((False, paragraphs))
    prose.clear()


def paragraphs_of(lines: Sequence[str]) -> list[str]:
    """Join soft-wrapped lines into paragraphs; list items and blank lines start new ones."""
    paragraphs: list[str] = []
    current = ""
    for raw in lines:
        line = plain_inline(raw) if raw.strip() else ""
        if not line:
            if current:
                paragraphs.append(current)
            current = ""
            continue
        if current and not BULLET.match(raw.strip()) and _continues(current, line):
            current = f"{current} {line}"
        else:
            if current:
                paragraphs.append(current)
            current = line
    if current:
        paragraphs.append(current)
    return paragraphs


def _continues(current: str, line: str) -> bool:
    if line[0].islower():
        return True
    if current.rstrip("\"'”’)]").endswith(_TERMINAL):
        return False
    # A short line without punctuation followed by a capital is a title or label line.
    return len(current) >= 60


def _table_rows(lines: list[str]) -> list[str]:
    rows = [[plain_inline(cell) for cell in _split_cells(line)] for line in lines]
    return render_table(rows, has_header=True)


def _split_cells(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip())
    if cells and not cells[0].strip():
        cells = cells[1:]
    if cells and not cells[-1].strip():
        cells = cells[:-1]
    return cells
