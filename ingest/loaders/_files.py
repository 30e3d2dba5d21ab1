"""Reading a file's bytes and naming a document after its file, for every loader."""

from __future__ import annotations

import re
from pathlib import Path

from assistant.errors import DocumentError
from ingest.cleaning import decode_text, normalize_text


def read_bytes(path: Path) -> bytes:
    """The file's bytes; `DocumentError` when it cannot be read or is empty."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise DocumentError(f"file not found: {path} (was it moved or deleted during ingest?)") from exc
    except IsADirectoryError as exc:
        raise DocumentError(f"{path} is a folder, not a file") from exc
    except OSError as exc:
        raise DocumentError(f"cannot read the file ({exc.strerror}): check its permissions") from exc
    if not data.strip():
        raise DocumentError("file is empty: add some text or remove the file")
    return data


def read_text(path: Path) -> str:
    """The file as clean text (encoding detected, NFC, no control characters)."""
    text = normalize_text(decode_text(read_bytes(path)))
    if not text:
        raise DocumentError("file is empty: add some text or remove the file")
    return text


def title_from_filename(path: Path) -> str:
    """A readable title from a file name: "IOM_AAP_Report_2024.pdf" -> "IOM AAP Report 2024"."""
    stem = normalize_text(path.stem)
    title = re.sub(r"[_\s]+", " ", stem)
    title = re.sub(r"(?<=\w)-(?=\s)|(?<=\s)-(?=\w)", " ", title)
    title = re.sub(r"\s+", " ", title).strip(" -.")
    if title.islower() and " " not in stem and "-" in title:
        title = title.replace("-", " ")
    return title[:1].upper() + title[1:] if title else path.name


def clip_title(text: str, limit: int = 200) -> str:
    """One line of at most `limit` characters, cut at a word boundary."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    return line[:limit].rsplit(" ", 1)[0].rstrip(" ,;:-") + "…"
