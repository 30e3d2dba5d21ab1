"""Language detection for whole documents (langdetect, seeded so results repeat)."""

from __future__ import annotations

import threading

_lock = threading.Lock()
_SAMPLE_CHARS = 4000


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's main language, or None when it cannot tell."""
    sample = text[:_SAMPLE_CHARS]
    if sum(c.isalpha() for c in sample) < 20:
        return None
    from langdetect import DetectorFactory, LangDetectException, detect

    with _lock:  # langdetect's factory is global state
        DetectorFactory.seed = 0
        try:
            return str(detect(sample))
        except LangDetectException:
            return None
