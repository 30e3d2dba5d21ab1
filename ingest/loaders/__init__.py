"""Loaders: one file in, one `SourceDocument` of clean sections out.

`load_document` picks the loader by file extension (case-insensitive). Each format lives in
its own module with one `load(path, source_id)` function. Every failure to read a file is a
`DocumentError` whose message names the problem and the fix; no library exception escapes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from assistant.documents import SourceDocument
from assistant.errors import DocumentError
from ingest.loaders import csv, docx, html, pdf, text

__all__ = ["SUPPORTED_EXTENSIONS", "load_document"]

log = logging.getLogger(__name__)

Loader = Callable[[Path, str], SourceDocument]

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


def load_document(path: Path, source_id: str) -> SourceDocument:
    """Load one file as a `SourceDocument`; raise `DocumentError` when it cannot be read."""
    suffix = path.suffix.lower()
    loader = _LOADERS.get(suffix)
    if loader is None:
        kind = f"extension {suffix!r}" if suffix else "no extension"
        supported = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        raise DocumentError(f"unsupported file type ({kind}): convert it to one of {supported}")
    log.debug("loading %s with %s", path, loader.__module__)
    return loader(path, source_id)
