"""The HTTP API (`/api/*`): thin routes over the one `AssistantService` in `app.state`.

Request and response bodies are in `ui/schemas.py`; errors, all JSON `{error, detail}`, in
`ui/errors.py`.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import replace
from itertools import chain
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, StreamingResponse

from assistant.answer import Answer
from assistant.errors import IndexUnavailableError
from assistant.feedback import FeedbackStore
from assistant.filters import ChunkFilter
from assistant.service import AssistantService, StreamEvent
from ui.door import SIGN_IN, Door
from ui.errors import ApiError, guarded_stream
from ui.receipts import Receipts
from ui.schemas import (
    ERROR_RESPONSES,
    AskRequest,
    FeedbackIn,
    FeedbackOut,
    HealthOut,
)

API_PREFIX = "/api"
FEEDBACK_PER_MINUTE = 30  # ratings one client (user or address) may send in a minute
_DRIVE = re.compile(r"[A-Za-z]:")  # `C:...`: a Windows path, never a source id
_SANDBOX = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"


# -- dependencies -------------------------------------------------------------------------


def get_service(request: Request) -> AssistantService:
    """The one service of the app."""
    service: AssistantService = request.app.state.service
    return service


def get_feedback(request: Request) -> FeedbackStore:
    """The feedback store of the app."""
    store: FeedbackStore = request.app.state.feedback
    return store


def require_user(request: Request) -> None:
    """401 unless the request passes the door: an API key, a chat session or a trusted proxy's
    user header (nothing configured: open)."""
    door: Door = request.app.state.door
    if not door.admits(request):
        raise ApiError(
            401,
            "unauthorized",
            SIGN_IN,
            headers={"WWW-Authenticate": "Bearer"},
        )


def get_reader(request: Request) -> frozenset[str]:
    """The groups whose documents the request may read (ui/door.py)."""
    door: Door = request.app.state.door
    return door.reader(request)


def get_receipts(request: Request) -> Receipts:
    """The app's answer ids."""
    receipts: Receipts = request.app.state.receipts
    return receipts


ServiceDep = Annotated[AssistantService, Depends(get_service)]
ReceiptsDep = Annotated[Receipts, Depends(get_receipts)]
ReaderDep = Annotated[frozenset[str], Depends(get_reader)]
FeedbackDep = Annotated[FeedbackStore, Depends(get_feedback)]


# -- routes -------------------------------------------------------------------------------


def build_api_router() -> APIRouter:
    """The `/api` routes. Health stays open; everything else passes the door (ui/door.py)."""
    router = APIRouter(prefix=API_PREFIX, responses=ERROR_RESPONSES)
    guarded = [Depends(require_user)]

    @router.post("/ask", response_model=Answer, dependencies=guarded, tags=["answers"])
    def ask(
        body: AskRequest, service: ServiceDep, receipts: ReceiptsDep, reader: ReaderDep
    ) -> dict[str, Any]:
        """Answer a question from the IOM documents, with numbered citations."""
        answer = service.ask(body.question, body.conversation(), body.provider, search_filter(body, reader))
        return _answer_dict(answer, receipts)

    @router.post(
        "/ask/stream",
        dependencies=guarded,
        tags=["answers"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}, "description": "token events, then answer"}},
    )
    def ask_stream(
        body: AskRequest, service: ServiceDep, receipts: ReceiptsDep, reader: ReaderDep
    ) -> StreamingResponse:
        """Server-sent events: `token` ({"text"}) pieces, then one `answer` (the answer object).

        A failure after the first event arrives as one `error` event ({"error", "detail"}).
        """
        filters = search_filter(body, reader)
        events = service.ask_stream(body.question, body.conversation(), body.provider, filters)
        first = next(events)  # bad questions and an empty index fail here, as plain HTTP errors
        return StreamingResponse(
            _server_sent(first, events, receipts),
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
    def source(source_id: str, service: ServiceDep, reader: ReaderDep) -> FileResponse:
        """The original file of an indexed document (opens in the browser), if the caller may
        read it (to others it does not exist)."""
        if not _plausible_source_id(source_id):
            raise ApiError(404, "not_found", "no such document in the index")
        try:
            path = service.source_file(source_id, reader)
        except IndexUnavailableError:
            raise ApiError(404, "not_found", "no such document in the index") from None
        return _file_response(path)

    @router.post(
        "/feedback", status_code=201, response_model=FeedbackOut, dependencies=guarded, tags=["feedback"]
    )
    def feedback(
        body: FeedbackIn, request: Request, store: FeedbackDep, receipts: ReceiptsDep
    ) -> dict[str, int]:
        """Store a thumbs up or down (and an optional comment) on an answer this server gave:
        `answer_id`, `question` and `answer` as the answer object had them."""
        if not receipts.valid(body.answer_id, body.question, body.answer):
            raise ApiError(
                422,
                "unknown_answer",
                "rate an answer this server gave: send its answer_id with its question and answer unchanged",
            )
        door: Door = request.app.state.door
        if not request.app.state.feedback_rate.allow(door.client(request)):
            raise ApiError(
                429,
                "too_many_ratings",
                f"at most {FEEDBACK_PER_MINUTE} ratings a minute; try again in a minute",
                headers={"Retry-After": "60"},
            )
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


def search_filter(body: AskRequest, reader: frozenset[str]) -> ChunkFilter:
    """The request's filters, and what its caller may read."""
    chunk_filter = body.filters.to_chunk_filter() if body.filters is not None else ChunkFilter()
    return replace(chunk_filter, reader=reader)


def _server_sent(first: StreamEvent, rest: Iterator[StreamEvent], receipts: Receipts) -> Iterator[str]:
    """Encode events as SSE; an exception mid-stream becomes an `error` event."""
    events = (_sse_event(event, receipts) for event in chain([first], rest))
    return guarded_stream(events, _sse_error)


def _sse_error(status: int, error: str, detail: str) -> str:
    return _sse("error", {"error": error, "detail": detail})


def _sse_event(event: StreamEvent, receipts: Receipts) -> str:
    if event.kind == "answer":
        assert event.answer is not None
        return _sse("answer", _answer_dict(event.answer, receipts))
    return _sse("token", {"text": event.text})


def _answer_dict(answer: Answer, receipts: Receipts) -> dict[str, Any]:
    """The answer object with the id that lets its reader rate it."""
    return receipts.signed(answer).to_dict()


def _sse(event: str, data: dict[str, Any]) -> str:
    # json.dumps escapes new lines, so one `data:` line always holds the whole payload
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _plausible_source_id(source_id: str) -> bool:
    """Reject traversal and absolute paths before the service sees them (it checks again)."""
    if not source_id or "\x00" in source_id or "\\" in source_id or source_id.startswith("/"):
        return False
    parts = PurePosixPath(source_id).parts
    return not any(part in ("..", ".") for part in parts) and not _DRIVE.match(parts[0])


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
