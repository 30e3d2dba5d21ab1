"""Generic text cleanup shared by the loaders: small pure functions, no I/O.

- `normalize_text`: NFC, control characters, ligatures, spaces.
- `looks_binary` / `decode_text`: bytes to text with sensible encoding fallbacks.
- `squeeze_blank_lines`: blank-line runs (list-item markers are `assistant.text.BULLET`).

PDF line reflow and page furniture are in `ingest/reflow.py`; scraped web-page navigation in
`ingest/navigation.py`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from assistant.errors import DocumentError

_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
# Control and format characters except tab and newline; soft hyphens and zero-width marks go too.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b-\u200d\u2060\ufeff\ufffe]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
TERMINAL = ".!?:;"  # what ends a sentence or a clause
CLOSERS = "\"'”’)]»"  # what may follow the end of a sentence


def normalize_text(text: str) -> str:
    """NFC-normalise, drop control characters, unify newlines and spaces, trim each line."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _INVISIBLE.sub("", text.translate(_LIGATURES).replace("\f", "\n"))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- bytes to text -------------------------------------------------------------------------

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_TEXT_CONTROLS = frozenset(b"\t\n\r\f")


def looks_binary(data: bytes) -> bool:
    """True when the bytes hold NULs or many control characters: not a text file."""
    sample = data[:65536]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if (b < 32 and b not in _TEXT_CONTROLS) or b == 127)
    return controls > max(2, len(sample) // 100)


def decode_text(data: bytes) -> str:
    """Decode a text file: BOM, then UTF-8, then Windows-1252 / Latin-1 when the bytes are clearly text.

    Raises `DocumentError` for empty or binary files.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise DocumentError(
                    f"not valid {encoding.upper()} after its byte-order mark: save it as UTF-8"
                ) from exc
            return _require_text(text)
    if not data.strip():
        raise DocumentError("file is empty: add some text or remove the file")
    if looks_binary(data):
        raise DocumentError(
            "not text: looks like binary data (NUL bytes or control characters); "
            "check the file extension or export the document as plain text"
        )
    try:
        return _require_text(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    for encoding in ("cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _share_unprintable(text) < 0.01:
            return _require_text(text)
    raise DocumentError("not valid UTF-8 and not recognisable as Windows-1252 text: save it as UTF-8")


def _require_text(text: str) -> str:
    if not text.strip():
        raise DocumentError("file is empty: add some text or remove the file")
    return text


def _share_unprintable(text: str) -> float:
    bad = sum(1 for ch in text if unicodedata.category(ch) in ("Cc", "Co", "Cn") and ch not in "\t\n\r\f")
    return bad / max(1, len(text))


def squeeze_blank_lines(lines: Iterable[str]) -> list[str]:
    """Collapse runs of blank lines to one and trim blank lines at both ends."""
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1].strip()):
            out.append(line.rstrip())
    while out and not out[-1].strip():
        out.pop()
    return out
