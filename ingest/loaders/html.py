"""HTML pages: the main content only, via trafilatura (no network), as Markdown sections.

Title, date and canonical URL come from the page metadata. When trafilatura finds no main
content, the visible text of the page (minus scripts, navigation, header and footer) is used.
"""

from __future__ import annotations

import logging
from pathlib import Path

import lxml.html
import trafilatura
from lxml import etree

from assistant.documents import SourceDocument
from assistant.errors import DocumentError
from ingest.cleaning import decode_text, normalize_text, squeeze_blank_lines
from ingest.loaders._dates import date_from_metadata, find_published
from ingest.loaders._files import clip_title, read_bytes, title_from_filename
from ingest.loaders._limits import ReadLimits
from ingest.loaders._markdown import markdown_sections
from ingest.navigation import strip_navigation

log = logging.getLogger(__name__)

_BLOCKS = ("p", "div", "li", "tr", "br", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article")
_NOT_CONTENT = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template")


def load(path: Path, source_id: str, limits: ReadLimits | None = None) -> SourceDocument:
    """Load an HTML page."""
    markup = decode_text(read_bytes(path))
    try:
        tree = lxml.html.document_fromstring(markup.encode("utf-8"))
    except (etree.ParserError, ValueError) as exc:
        raise DocumentError(f"not readable HTML ({exc}): open it in a browser and save it again") from exc
    content, title, date, url = _main_content(tree)
    if not content:
        log.info("trafilatura found no main content in %s; using the page's visible text", path)
        content = _visible_text(tree)
    if not content:
        raise DocumentError("no text found in the HTML page: it may be empty or built by JavaScript")
    sections, headings = markdown_sections(content)
    if not sections:
        raise DocumentError("no text found in the HTML page: it may be empty or built by JavaScript")
    return SourceDocument(
        source_id=source_id,
        title=clip_title(title or (headings[0] if headings else "") or title_from_filename(path)),
        format="html",
        sections=tuple(sections),
        published=date or find_published("\n".join(s.text for s in sections)),
        url=url or _canonical_url(tree),
    )


def _main_content(tree: lxml.html.HtmlElement) -> tuple[str, str, str | None, str | None]:
    """(Markdown text, title, ISO date, URL) from trafilatura; empty text when it finds nothing."""
    try:
        metadata = trafilatura.extract_metadata(tree, extensive=False)
        text = trafilatura.extract(
            tree, output_format="markdown", include_tables=True, include_comments=False, favor_precision=True
        )
    except MemoryError:  # the file reader names the memory limit
        raise
    except Exception as exc:  # trafilatura raises many kinds of errors on odd markup
        log.warning("trafilatura failed (%s: %s); using the page's visible text", type(exc).__name__, exc)
        return "", "", None, None
    title = normalize_text(metadata.title or "") if metadata else ""
    date = date_from_metadata(metadata.date) if metadata and metadata.date else None
    url = metadata.url if metadata and metadata.url else None
    return normalize_text(text or ""), title, date, url


def _visible_text(tree: lxml.html.HtmlElement) -> str:
    body = tree.find("body")
    root = body if body is not None else tree
    for element in list(root.iter(*_NOT_CONTENT)):
        element.drop_tree()
    for element in root.iter(*_BLOCKS):
        element.tail = "\n" + (element.tail or "")
    lines = normalize_text(root.text_content()).split("\n")
    return "\n".join(squeeze_blank_lines(strip_navigation(lines)))


def _canonical_url(tree: lxml.html.HtmlElement) -> str | None:
    for xpath in ('//link[@rel="canonical"]/@href', '//meta[@property="og:url"]/@content'):
        found = tree.xpath(xpath)
        if found and str(found[0]).strip():
            return str(found[0]).strip()
    return None
