"""The answer object of the CLI and HTTP contracts, and its parts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# How the quotes of one passage are joined in a citation's `quote` (the chat splits them apart again).
QUOTE_JOIN = " … "


@dataclass(frozen=True)
class Citation:
    """Source `[n]` of an answer: where it is and the passage text that supports it."""

    n: int
    source_id: str
    title: str
    page: int | None
    url: str | None
    quote: str  # what is quoted from the passage, joined with QUOTE_JOIN
    score: float
    chunk_id: str = ""


@dataclass(frozen=True)
class RetrievedPassage:
    """One passage the answer was drawn from, as ranked by retrieval."""

    rank: int
    chunk_id: str
    source_id: str
    page: int | None
    score: float
    text: str
    title: str = ""
    url: str | None = None


@dataclass
class Answer:
    """What the assistant says to a question (the `--json` and `/api/ask` object)."""

    answer: str
    refused: bool
    citations: list[Citation]
    retrieved: list[RetrievedPassage]
    notices: list[str] = field(default_factory=list)
    provider: str = field(kw_only=True)  # the provider that answered ("naive" for the bench baseline)
    timings_ms: dict[str, float] = field(default_factory=dict)
    question: str = ""
    standalone_question: str = ""
    answer_id: str = ""  # the HTTP API signs each answer: send it back to rate it (POST /api/feedback)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


REFUSAL_TEXT = "I could not find this in the IOM documents."
