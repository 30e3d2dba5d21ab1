"""The OpenAI-compatible routes (`/v1/*`), for chat front ends (Open WebUI, LibreChat) and scripts
that speak the OpenAI API: thin routes over the one `AssistantService`, behind the same door,
body limit and question limits as `/api/*`. The wire shapes are in `ui/openai_compat.py`.

A streamed answer sends its text once the grounding guard has checked all of it: OpenAI's deltas
cannot be taken back, and the guard may still drop a sentence or fall back to another answer,
whose `[n]` markers are numbered only at the end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import chain
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from assistant.answer import Answer
from assistant.question import MAX_MESSAGE_CHARS
from assistant.service import StreamEvent
from assistant.settings import PROVIDERS
from ui.api import ReaderDep, ReceiptsDep, ServiceDep, require_user, search_filter
from ui.errors import ApiError, guarded_stream
from ui.openai_compat import (
    V1_PREFIX,
    ChatCompletionRequest,
    Completion,
    error_body,
    model_id,
    model_list,
    provider_of,
    split_conversation,
)
from ui.receipts import Receipts
from ui.schemas import MAX_HISTORY_MESSAGES, AskRequest

_STREAMED: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/event-stream": {}}, "description": "the answer"}
}


def build_openai_router() -> APIRouter:
    """The `/v1` routes, all behind the door (ui/door.py)."""
    router = APIRouter(prefix=V1_PREFIX, dependencies=[Depends(require_user)], tags=["openai"])

    @router.get("/models")
    def models(service: ServiceDep) -> dict[str, Any]:
        """One model per answering provider, the server's default first."""
        return model_list(service.settings.llm_provider)

    @router.post("/chat/completions", responses=_STREAMED)
    def chat_completions(
        body: ChatCompletionRequest, service: ServiceDep, reader: ReaderDep, receipts: ReceiptsDep
    ) -> Any:
        """The answer to the last user message, earlier messages its history: `message.content`
        with `[n]` markers, `message.citations` as in `/api/ask`, `refused`, `notices`, and the
        `answer_id` and `question` that rate it through `/api/feedback`. With `stream`,
        `chat.completion.chunk` events; the citations and the id come in the last one."""
        ask = _ask_request(body)
        completion = Completion(body.model)
        filters = search_filter(ask, reader)
        if not body.stream:
            answer = service.ask(ask.question, ask.conversation(), ask.provider, filters)
            return completion.whole(receipts.signed(answer))
        events = service.ask_stream(ask.question, ask.conversation(), ask.provider, filters)
        first = next(events)  # bad questions and an empty index fail here, as plain HTTP errors
        return StreamingResponse(
            guarded_stream(_chunks(completion, chain([first], events), receipts), _error_event),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router


def _ask_request(body: ChatCompletionRequest) -> AskRequest:
    """The `/api/ask` request the messages make, with its checks and the most recent history it
    takes; 400 when no model or no question can be read from them."""
    provider = provider_of(body.model)
    if provider is None:
        served = ", ".join(model_id(p) for p in PROVIDERS)
        detail = f"no model {body.model!r} here; choose {served}"
        raise ApiError(400, "model_not_found", detail, param="model")
    question, history = split_conversation(body.messages)
    if question is None:
        detail = "send at least one message with role `user`: the last one is the question"
        raise ApiError(400, "no_question", detail, param="messages")
    turns = [{"role": role, "content": content} for role, content in history[-MAX_HISTORY_MESSAGES:]]
    try:
        return AskRequest.model_validate({"question": question, "history": turns, "provider": provider})
    except ValidationError:
        detail = f"each earlier message may hold at most {MAX_MESSAGE_CHARS} characters"
        raise ApiError(400, "invalid_request", detail, param="messages") from None


def _chunks(completion: Completion, events: Iterator[StreamEvent], receipts: Receipts) -> Iterator[str]:
    yield _data(completion.opening())
    found: Answer = next(event.answer for event in events if event.answer is not None)
    answer = receipts.signed(found)
    for piece in completion.pieces(answer):
        yield _data(piece)
    yield _data(completion.closing(answer))
    yield "data: [DONE]\n\n"


def _error_event(status: int, error: str, detail: str) -> str:
    return _data(error_body(status, error, detail))


def _data(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"
