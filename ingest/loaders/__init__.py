"""Loaders: one file in, one `SourceDocument` of clean sections out.

`load_document` picks the loader by file extension (case-insensitive). Each format lives in
its own module with one `load(path, source_id, limits)` function. Every failure to read a file is
a `DocumentError` whose message names the problem and the fix; no library exception escapes.
`ReadLimits` caps what one file may hold (pages, columns, unpacked size, line length), checked
before the work they would cost; ingest sets them from the settings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from assistant.documents import SourceDocument
from assistant.errors import DocumentError
from ingest.loaders import csv, docx, html, pdf, text
from ingest.loaders._limits import ReadLimits

__all__ = ["SUPPORTED_EXTENSIONS", "ReadLimits", "load_document"]

log = logging.getLogger(__name__)

Loader = Callable[[Path, str, ReadLimits | None], SourceDocument]

_LOADERS: dict[str, Loader] = {
    ".pdf": pdf.load,
    ".docx": docx.load,
    ".html": html.load,
    ".htm": html.load,
    ".md": text.load,
    ".markdown": text.load,
    ".txt": text.load,
    ".csv": csv.load,
}

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(_LOADERS)


def load_document(path: Path, source_id: str, limits: ReadLimits | None = None) -> SourceDocument:
    """Load one file as a `SourceDocument`; raise `DocumentError` when it cannot be read or holds
    more than `limits` allow (None: no caps, for files one trusts)."""
    suffix = path.suffix.lower()
    loader = _LOADERS.get(suffix)
    if loader is None:
        kind = f"extension {suffix!r}" if suffix else "no extension"
        supported = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        raise DocumentError(f"unsupported file type ({kind}): convert it to one of {supported}")
    log.debug("loading %s with %s", path, loader.__module__)
    document = loader(path, source_id, limits)
    if limits is not None:
        limits.check_lines(document)
    return document
