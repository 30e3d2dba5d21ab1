"""The JSON bodies of the HTTP API (`/api/*`): requests checked where they enter, responses as
documented in OpenAPI."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.feedback import MAX_COMMENT_CHARS, Rating
from assistant.filters import ChunkFilter
from assistant.question import MAX_MESSAGE_CHARS
from assistant.settings import Provider

MAX_HISTORY_MESSAGES = 40
_ISO_DATE = r"^\d{4}(-\d{2}(-\d{2})?)?$"
_EXAMPLE_QUESTION = "When did IOM organize the meeting of the Heads of Border Police in Budva?"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HistoryMessage(_Strict):
    """One earlier turn of the conversation."""

    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_MESSAGE_CHARS)


class Filters(_Strict):
    """Restrict retrieval to some documents; empty fields restrict nothing."""

    source_ids: list[str] = Field(default_factory=list, max_length=200)
    formats: list[str] = Field(default_factory=list, max_length=20)
    languages: list[str] = Field(default_factory=list, max_length=20)
    published_from: str | None = Field(None, pattern=_ISO_DATE, examples=["2022-01"])
    published_to: str | None = Field(None, pattern=_ISO_DATE, examples=["2023-12-31"])

    def to_chunk_filter(self) -> ChunkFilter:
        """The service's filter."""
        return ChunkFilter(
            source_ids=tuple(self.source_ids),
            formats=tuple(self.formats),
            languages=tuple(self.languages),
            published_from=self.published_from,
            published_to=self.published_to,
        )


class AskRequest(_Strict):
    """A question, with the conversation so far for follow-ups."""

    question: str = Field(examples=[_EXAMPLE_QUESTION])
    history: list[HistoryMessage] = Field(default_factory=list, max_length=MAX_HISTORY_MESSAGES)
    provider: Provider | None = None
    filters: Filters | None = None

    def conversation(self) -> list[tuple[str, str]]:
        """The history as the service takes it: (role, content) pairs."""
        return [(m.role, m.content) for m in self.history]


class HealthOut(BaseModel):
    """Whether the service can answer, and what it holds."""

    status: str
    documents: int
    chunks: int
    provider: str


class FeedbackIn(_Strict):
    """A rating of one answer."""

    answer_id: str = Field(min_length=1, max_length=64)
    question: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    answer: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    rating: Rating
    comment: str | None = Field(None, max_length=MAX_COMMENT_CHARS)
    citations: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    provider: str | None = Field(None, max_length=50)


class FeedbackOut(BaseModel):
    """The stored rating's id."""

    id: int


class ErrorOut(BaseModel):
    """Every error of the API."""

    error: str
    detail: str


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 404, 413, 422, 503)
}
