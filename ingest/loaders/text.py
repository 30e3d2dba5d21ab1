"""Markdown (.md, .markdown) and plain text (.txt) files.

Both go through the same Markdown reading: headings make sections, tables become rows.
Plain text is often scraped from a web page: it loses the site navigation and footer first,
and its first line, when it reads like a headline, becomes the document title.
"""

from __future__ import annotations

import re
from pathlib import Path

from assistant.documents import SourceDocument
from assistant.errors import DocumentError
from ingest.cleaning import squeeze_blank_lines
from ingest.loaders._dates import date_from_metadata, find_published
from ingest.loaders._files import clip_title, read_text, title_from_filename
from ingest.loaders._limits import ReadLimits
from ingest.loaders._markdown import markdown_sections, plain_inline
from ingest.navigation import strip_navigation

_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n(?:---|\.\.\.)\n", re.DOTALL)
_MARKDOWN_SUFFIXES = (".md", ".markdown")


def load(path: Path, source_id: str, limits: ReadLimits | None = None) -> SourceDocument:
    """Load a Markdown or plain-text file."""
    text = read_text(path)
    meta, text = _split_front_matter(text)
    is_markdown = path.suffix.lower() in _MARKDOWN_SUFFIXES
    lines = text.split("\n")
    if not is_markdown:  # plain text is often a scraped web page, menus included
        lines = strip_navigation(lines)
    lines = squeeze_blank_lines(lines)
    headline = None if is_markdown else _headline(lines)
    if headline:
        lines = lines[1:]
    sections, headings = markdown_sections("\n".join(lines), heading=headline)
    if not sections:
        raise DocumentError("no text found in the file: only navigation, headings or markup")
    title = meta.get("title") or headline or (headings[0] if headings else "") or title_from_filename(path)
    body = "\n\n".join(s.text for s in sections)
    published = date_from_metadata(meta.get("date", "")) or find_published(body)
    return SourceDocument(
        source_id=source_id,
        title=clip_title(title),
        format="markdown" if is_markdown else "text",
        sections=tuple(sections),
        published=published,
        url=meta.get("url") or meta.get("permalink") or None,
    )


def _split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """YAML front matter ("---\\ntitle: ...\\n---") as simple key/value pairs, and the rest."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    meta: dict[str, str] = {}
    for line in match.group(1).split("\n"):
        key, sep, value = line.partition(":")
        if sep and key.strip() and not key.startswith((" ", "-")):
            meta[key.strip().lower()] = value.strip().strip("\"'")
    return meta, text[match.end() :]


def _headline(lines: list[str]) -> str | None:
    """The first line of a plain-text file when it reads like a headline: no sentence end, then prose."""
    if len(lines) < 2 or lines[0].lstrip().startswith(("#", "|", "-", "*", "+")):
        return None
    first, following = plain_inline(lines[0]), lines[1].strip()
    if not following or set(following) <= set("=- "):
        return None
    words = first.split()
    if not 3 <= len(words) <= 40 or first.rstrip("\"'”’)").endswith((".", "!", "?", ":", ";", ",")):
        return None
    return first
