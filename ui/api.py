"""The HTTP API (`/api/*`): thin routes over the one `AssistantService` in `app.state`.

Every error is JSON `{error, detail}`: 4xx for bad input, 401 without a valid key,
404 for unknown sources, 503 while the index cannot serve, and a logged 500
without a traceback for anything unexpected.
"""

from __future__ import annotations

import hmac
import json
import logging
import mimetypes
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.answer import Answer
from assistant.errors import (
    AssistantError,
    ConfigurationError,
    IndexUnavailableError,
    InvalidQuestionError,
)
from assistant.feedback import MAX_COMMENT_CHARS, FeedbackStore, Rating
from assistant.service import AssistantService, StreamEvent
from assistant.settings import Provider, Settings
from assistant.store import ChunkFilter

log = logging.getLogger(__name__)

API_PREFIX = "/api"
MAX_HISTORY_MESSAGES = 40
MAX_TEXT_CHARS = 20_000
_ISO_DATE = r"^\d{4}(-\d{2}(-\d{2})?)?$"
_SANDBOX = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_EXAMPLE_QUESTION = "When did IOM organize the meeting of the Heads of Border Police in Budva?"


class ApiError(Exception):
    """An error answered as JSON `{error, detail}` with `status`."""

    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers


# -- request and response bodies ----------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HistoryMessage(_Strict):
    """One earlier turn of the conversation."""

    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_TEXT_CHARS)


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


class CitationOut(BaseModel):
    """Source `[n]` of the answer."""

    n: int
    source_id: str
    title: str
    page: int | None
    url: str | None
    quote: str
    score: float
    chunk_id: str = ""


class RetrievedOut(BaseModel):
    """A passage retrieval ranked for the question."""

    rank: int
    chunk_id: str
    source_id: str
    page: int | None
    score: float
    text: str
    title: str = ""


class AnswerOut(BaseModel):
    """The answer object (the same as `iom-assistant ask --json`)."""

    answer: str
    refused: bool
    citations: list[CitationOut]
    retrieved: list[RetrievedOut]
    notices: list[str]
    provider: str
    timings_ms: dict[str, float]
    question: str = ""
    standalone_question: str = ""


class HealthOut(BaseModel):
    """Whether the service can answer, and what it holds."""

    status: str
    documents: int
    chunks: int
    provider: str


class FeedbackIn(_Strict):
    """A rating of one answer."""

    question: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    answer: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
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


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 404, 413, 422, 503)
}


# -- dependencies -------------------------------------------------------------------------


def get_service(request: Request) -> AssistantService:
    """The one service of the app."""
    service: AssistantService = request.app.state.service
    return service


def get_feedback(request: Request) -> FeedbackStore:
    """The feedback store of the app."""
    store: FeedbackStore = request.app.state.feedback
    return store


def require_api_key(request: Request) -> None:
    """401 unless a configured key comes as `Authorization: Bearer <key>` (no keys: open)."""
    settings: Settings = request.app.state.settings
    if not settings.api_keys:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    given = token.strip().encode()
    valid = False
    for key in settings.api_keys:  # compare with every key: no early exit to time
        valid |= hmac.compare_digest(given, key.encode())
    if scheme.lower() != "bearer" or not valid:
        raise ApiError(
            401,
            "unauthorized",
            "send a valid API key as `Authorization: Bearer <key>`",
            headers={"WWW-Authenticate": "Bearer"},
        )


ServiceDep = Annotated[AssistantService, Depends(get_service)]
FeedbackDep = Annotated[FeedbackStore, Depends(get_feedback)]


# -- routes -------------------------------------------------------------------------------


def build_api_router() -> APIRouter:
    """The `/api` routes. Health stays open; everything else needs an API key when keys are set."""
    router = APIRouter(prefix=API_PREFIX, responses=_ERRORS)
    guarded = [Depends(require_api_key)]

    @router.post("/ask", response_model=AnswerOut, dependencies=guarded, tags=["answers"])
    def ask(body: AskRequest, service: ServiceDep) -> dict[str, Any]:
        """Answer a question from the IOM documents, with numbered citations."""
        answer = service.ask(body.question, _history(body), body.provider, _filters(body))
        return answer.to_dict()

    @router.post(
        "/ask/stream",
        dependencies=guarded,
        tags=["answers"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}, "description": "token events, then answer"}},
    )
    def ask_stream(body: AskRequest, service: ServiceDep) -> StreamingResponse:
        """Server-sent events: `token` ({"text"}) pieces, then one `answer` (the answer object).

        A failure after the first event arrives as one `error` event ({"error", "detail"}).
        """
        events = service.ask_stream(body.question, _history(body), body.provider, _filters(body))
        first = next(events)  # bad questions and an empty index fail here, as plain HTTP errors
        return StreamingResponse(
            _server_sent(first, events),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.get("/health", response_model=HealthOut, tags=["service"])
    def health(service: ServiceDep) -> dict[str, object]:
        """Document and chunk counts, and the default provider."""
        return service.health()

    @router.get(
        "/sources/{source_id:path}",
        dependencies=guarded,
        tags=["sources"],
        response_class=FileResponse,
        responses={200: {"content": {"application/octet-stream": {}}, "description": "the original file"}},
    )
    def source(source_id: str, service: ServiceDep) -> FileResponse:
        """The original file of an indexed document (opens in the browser)."""
        if not _plausible_source_id(source_id):
            raise ApiError(404, "not_found", "no such document in the index")
        try:
            path = service.source_file(source_id)
        except IndexUnavailableError:
            raise ApiError(404, "not_found", "no such document in the index") from None
        return _file_response(path)

    @router.post(
        "/feedback", status_code=201, response_model=FeedbackOut, dependencies=guarded, tags=["feedback"]
    )
    def feedback(body: FeedbackIn, store: FeedbackDep) -> dict[str, int]:
        """Store a thumbs up or down (and an optional comment) on an answer."""
        feedback_id = store.add(
            question=body.question,
            answer=body.answer,
            rating=body.rating,
            comment=body.comment,
            citations=body.citations,
            provider=body.provider,
        )
        return {"id": feedback_id}

    return router


def _history(body: AskRequest) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in body.history]


def _filters(body: AskRequest) -> ChunkFilter | None:
    if body.filters is None:
        return None
    chunk_filter = body.filters.to_chunk_filter()
    return None if chunk_filter.is_empty() else chunk_filter


def _server_sent(first: StreamEvent, rest: Iterator[StreamEvent]) -> Iterator[str]:
    """Encode events as SSE; an exception mid-stream becomes an `error` event."""
    try:
        yield _sse_event(first)
        for event in rest:
            yield _sse_event(event)
    except AssistantError as exc:
        log.warning("stream failed: %s", exc)
        yield _sse("error", {"error": _error_code(exc), "detail": str(exc)})
    except Exception:
        log.exception("stream failed")
        yield _sse("error", {"error": "internal", "detail": "the answer failed; see the server log"})


def _sse_event(event: StreamEvent) -> str:
    if event.kind == "answer":
        assert event.answer is not None
        return _sse("answer", _answer_dict(event.answer))
    return _sse("token", {"text": event.text})


def _answer_dict(answer: Answer) -> dict[str, Any]:
    return AnswerOut.model_validate(answer.to_dict()).model_dump()


def _sse(event: str, data: dict[str, Any]) -> str:
    # json.dumps escapes new lines, so one `data:` line always holds the whole payload
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _plausible_source_id(source_id: str) -> bool:
    """Reject traversal and absolute paths before the service sees them (it checks again)."""
    if not source_id or "\x00" in source_id or "\\" in source_id or source_id.startswith("/"):
        return False
    parts = PurePosixPath(source_id).parts
    return not any(part in ("..", ".") for part in parts) and ":" not in parts[0]


def _file_response(path: Path) -> FileResponse:
    media_type, _ = mimetypes.guess_type(path.name)
    media_type = media_type or "application/octet-stream"
    if media_type.startswith("text/") or path.suffix.lower() in (".md", ".csv", ".txt"):
        media_type = f"{media_type if media_type.startswith('text/') else 'text/plain'}; charset=utf-8"
    headers = {}
    if media_type != "application/pdf":
        # An HTML or SVG document from the corpus must not run script on our origin;
        # Chrome's PDF viewer does not load in a sandbox, and a PDF runs none here anyway.
        headers["Content-Security-Policy"] = _SANDBOX
    return FileResponse(
        path,
        media_type=media_type,
        filename=path.name,
        content_disposition_type="inline",
        headers=headers,
    )


# -- errors -------------------------------------------------------------------------------


def _error_code(exc: AssistantError) -> str:
    match exc:
        case InvalidQuestionError():
            return "invalid_question"
        case IndexUnavailableError():
            return "index_unavailable"
        case ConfigurationError():
            return "not_configured"
        case _:
            return "unavailable"


def _status(exc: AssistantError) -> int:
    return 400 if isinstance(exc, InvalidQuestionError) else 503


def _json(status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


def _validation_detail(exc: RequestValidationError) -> tuple[int, str, str]:
    problems = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            return 400, "invalid_json", "the request body is not valid JSON"
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return 422, "invalid_request", "; ".join(problems[:10])


def install_error_handlers(app: FastAPI) -> None:
    """Turn every failure under /api into JSON `{error, detail}` (never a traceback)."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _json(exc.status, exc.error, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, error, detail = _validation_detail(exc)
        return _json(status, error, detail)

    @app.exception_handler(AssistantError)
    async def _assistant_error(request: Request, exc: AssistantError) -> JSONResponse:
        if not isinstance(exc, InvalidQuestionError):
            log.warning("%s %s: %s", request.method, request.url.path, exc)
        return _json(_status(exc), _error_code(exc), str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        names = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 413: "payload_too_large"}
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        return _json(exc.status_code, names.get(exc.status_code, "http_error"), detail, headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _json(500, "internal", "the server failed to answer; the error is in its log")
