"""Citation markers in answer text: `[2]`, and from an LLM also `[1, 2]` or `[1;2]`.

The one definition of the marker, for the service (streaming), the grounding guard, the chat's
links and the evaluation.
"""

from __future__ import annotations

import re

_NUMBERS = r"\d{1,3}(?:\s*[,;]\s*\d{1,3})*"
# One marker with the space before it; its numbers are group 1.
MARKER = re.compile(rf"\s*\[({_NUMBERS})\]")
# A full stop followed by markers ("... 2022. [1]"), which an LLM writes for "... 2022 [1].".
MARKERS_AFTER_STOP = re.compile(rf"([.!?])((?:\s*\[{_NUMBERS}\])+)")
# Where a complete sentence of streamed text ends: a full stop, its markers, space, a capital.
SENTENCE_DONE = re.compile(rf"[.!?](?:\s*\[{_NUMBERS}\])*\s+(?=[A-ZÀ-ÖØ-Þ\"“‘(•\-])")


def marker_numbers(marker: re.Match[str]) -> list[int]:
    """The numbers of one matched marker."""
    return [int(n) for n in re.split(r"[,;]", marker.group(1))]


def cited_numbers(text: str) -> list[int]:
    """Every citation number in a text, in order."""
    return [n for marker in MARKER.finditer(text) for n in marker_numbers(marker)]


def strip_markers(text: str) -> str:
    """The text without its citation markers."""
    return MARKER.sub("", text)
