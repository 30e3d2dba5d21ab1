"""The OpenAI wire shapes of `/v1/*`: the chat completion request, the completion, its stream
chunks, the model list and the error object.

Only the shapes live here; the routes are in `ui/openai_api.py`. The answer's parts are the
answer object's (`Answer.to_dict()`), so the citations are the very objects `/api/ask` returns,
and its `answer_id` (with the `question` as read) rates it through `/api/feedback`.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.answer import Answer
from assistant.settings import PROVIDERS

V1_PREFIX = "/v1"
MODEL_PREFIX = "iom-assistant-"
# what an answer adds to OpenAI's message; `answer_id` with `question` (as read) rate it at /api/feedback
_EXTRAS = ("citations", "refused", "notices", "answer_id", "question")
_ERROR_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}


class ChatMessage(BaseModel):
    """One message of the conversation. Text parts of a list content are read; other parts
    (images, audio) and fields (name, tool calls) are ignored."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message's text."""
        if isinstance(self.content, list):
            return "\n".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """`POST /v1/chat/completions`. Other OpenAI fields (temperature, max_tokens, tools, ...) are
    accepted and ignored: the answer is drawn from the documents, not sampled."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=200, examples=[f"{MODEL_PREFIX}extractive"])
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


def model_id(provider: str) -> str:
    """The model id a client sends to be answered by `provider`."""
    return f"{MODEL_PREFIX}{provider}"


def provider_of(model: str) -> str | None:
    """The provider a model id names; None for an id this server does not serve."""
    provider = model.removeprefix(MODEL_PREFIX)
    return provider if model.startswith(MODEL_PREFIX) and provider in PROVIDERS else None


def model_list(default_provider: str) -> dict[str, Any]:
    """`GET /v1/models`: one model per provider, the server's default first."""
    providers = sorted(PROVIDERS, key=lambda p: p != default_provider)
    created = int(time.time())
    return {
        "object": "list",
        "data": [
            {"id": model_id(p), "object": "model", "created": created, "owned_by": "iom-assistant"}
            for p in providers
        ],
    }


def split_conversation(messages: list[ChatMessage]) -> tuple[str | None, list[tuple[str, str]]]:
    """The question (the last user message; None without one) and the user and assistant turns
    before it. System messages, tool results and anything after the question are left out."""
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last_user is None:
        return None, []
    earlier = messages[:last_user]
    history: list[tuple[str, str]] = [(m.role, m.text()) for m in earlier if m.role in ("user", "assistant")]
    return messages[last_user].text(), history


class Completion:
    """One chat completion: the id, time and model every shape of it carries."""

    def __init__(self, model: str) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model

    def whole(self, answer: Answer) -> dict[str, Any]:
        """The non-streamed `chat.completion`."""
        extras = _extras(answer)
        message = {"role": "assistant", "content": answer.answer, **extras}
        choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
        return {**self._head("chat.completion"), "choices": [choice], "citations": extras["citations"]}

    def opening(self) -> dict[str, Any]:
        """The first `chat.completion.chunk`: the role, no text yet."""
        return self._chunk({"role": "assistant", "content": ""})

    def pieces(self, answer: Answer) -> list[dict[str, Any]]:
        """The answer text as content chunks, word by word; joined, exactly `answer.answer`."""
        words = re.split(r"(?<=\s)(?=\S)", answer.answer)
        return [self._chunk({"content": word}) for word in words if word]

    def closing(self, answer: Answer) -> dict[str, Any]:
        """The last chunk: finish_reason `stop`, and the only one with the citations, `refused`,
        `notices`, `answer_id` and `question`."""
        extras = _extras(answer)
        return {**self._chunk(extras, finish_reason="stop"), "citations": extras["citations"]}

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        return {**self._head("chat.completion.chunk"), "choices": [choice]}

    def _head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}


def _extras(answer: Answer) -> dict[str, Any]:
    plain = answer.to_dict()
    return {key: plain[key] for key in _EXTRAS}


def error_body(status: int, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error object, `{"error": {message, type, param, code}}`."""
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
