"""Citation markers in answer text: `[2]`, and from an LLM also `[1, 2]` or `[1;2]`.

The one definition of the marker, for the service (streaming), the grounding guard, the chat's
links and the evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_NUMBERS = r"\d{1,3}(?:\s*[,;]\s*\d{1,3})*"
# One marker with the space before it; its numbers are group 1.
MARKER = re.compile(rf"\s*\[({_NUMBERS})\]")
# A full stop followed by markers ("... 2022. [1]"), which an LLM writes for "... 2022 [1].", and
# which a quoted sentence ending as its document wrote it ("... and Recovery.. [1]") gets too.
MARKERS_AFTER_STOP = re.compile(rf"([.!?]+[\"”’)]*)((?:\s*\[{_NUMBERS}\])+)")
# Where a complete sentence of streamed text ends: a full stop, its markers, space, a capital.
SENTENCE_DONE = re.compile(rf"[.!?](?:\s*\[{_NUMBERS}\])*\s+(?=[A-ZÀ-ÖØ-Þ\"“‘(•\-])")


def marker_numbers(marker: re.Match[str]) -> list[int]:
    """The numbers of one matched marker."""
    return [int(n) for n in re.split(r"[,;]", marker.group(1))]


def marked_pieces(text: str) -> Iterator[tuple[str, re.Match[str] | None]]:
    """`text` cut at its markers: (the text before a marker, the marker), ..., (the rest, None)."""
    position = 0
    for marker in MARKER.finditer(text):
        yield text[position : marker.start()], marker
        position = marker.end()
    yield text[position:], None


def marker_space(marker: re.Match[str]) -> str:
    """The white space a matched marker starts with (it belongs to the text, not the link)."""
    return marker.group(0)[: marker.group(0).index("[")]


def cited_numbers(text: str) -> list[int]:
    """Every citation number in a text, in order."""
    return [n for marker in MARKER.finditer(text) for n in marker_numbers(marker)]


def strip_markers(text: str) -> str:
    """The text without its citation markers."""
    return MARKER.sub("", text)
