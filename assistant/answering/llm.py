"""LLM chat backends behind one small interface: stream text for a list of messages.

`OpenAIChat` speaks to any OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp server,
Azure OpenAI) through LangChain's `ChatOpenAI`; `LlamaCppChat` runs a local GGUF file
in-process with llama-cpp-python (optional extra). Failures become `ProviderError`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from assistant.answering.prompts import Message
from assistant.errors import ConfigurationError, ProviderError

if TYPE_CHECKING:
    from langchain_openai import ChatOpenAI
    from llama_cpp import Llama

log = logging.getLogger(__name__)


class ChatModel(Protocol):
    """Streams the reply of a chat model."""

    def stream(self, messages: Sequence[Message], max_tokens: int = 300) -> Iterator[str]:
        """Yield pieces of the reply; raise ProviderError on failure or timeout."""
        ...


class OpenAIChat:
    """An OpenAI-compatible chat endpoint through LangChain, with a hard timeout."""

    def __init__(self, base_url: str, model: str, api_key: str, timeout_s: float) -> None:
        self.base_url = base_url
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s
        self._client: ChatOpenAI | None = None

    def _chat(self) -> ChatOpenAI:
        if self._client is None:
            from langchain_openai import ChatOpenAI
            from pydantic import SecretStr

            self._client = ChatOpenAI(
                base_url=self.base_url,
                model=self.model,
                api_key=SecretStr(self.api_key),
                timeout=self.timeout_s,
                max_retries=0,
                temperature=0.0,
            )
        return self._client

    def stream(self, messages: Sequence[Message], max_tokens: int = 300) -> Iterator[str]:
        try:
            for piece in self._chat().stream(list(messages), max_tokens=max_tokens):
                text = piece.content if isinstance(piece.content, str) else ""
                if text:
                    yield text
        except ProviderError:
            raise
        except Exception as exc:  # openai/httpx raise many types for down, slow, refused
            raise ProviderError(
                f"the LLM endpoint {self.base_url} failed ({type(exc).__name__}: {exc})"
            ) from exc


class LlamaCppChat:
    """A local GGUF model in-process (llama-cpp-python), loaded on first use."""

    def __init__(self, model_path: Path, n_ctx: int = 4096) -> None:
        self.model_path = model_path
        self.n_ctx = n_ctx
        self._llama: Llama | None = None
        self._lock = threading.Lock()  # a Llama context serves one request at a time

    def _model(self) -> Llama:
        if self._llama is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise ConfigurationError(
                    "the llamacpp provider needs llama-cpp-python: pip install 'iom-assistant[llamacpp]'"
                ) from exc
            if not self.model_path.is_file():
                raise ConfigurationError(
                    f"IOM_ASSISTANT_LLM_MODEL_PATH={self.model_path} is not a file: point it at a GGUF model."
                )
            self._llama = Llama(model_path=str(self.model_path), n_ctx=self.n_ctx, verbose=False)
        return self._llama

    def stream(self, messages: Sequence[Message], max_tokens: int = 300) -> Iterator[str]:
        chat: list[Any] = [{"role": role, "content": content} for role, content in messages]
        with self._lock:
            model = self._model()
            try:
                parts: Any = model.create_chat_completion(
                    messages=chat, max_tokens=max_tokens, temperature=0.0, stream=True
                )
                for part in parts:
                    text = part["choices"][0].get("delta", {}).get("content")
                    if text:
                        yield str(text)
            except Exception as exc:
                raise ProviderError(f"the local model failed ({type(exc).__name__}: {exc})") from exc


def make_chat_model(
    provider: str,
    *,
    base_url: str | None,
    model: str,
    api_key: str,
    model_path: Path | None,
    timeout_s: float,
) -> ChatModel | None:
    """The chat model for a provider name; None for `extractive`."""
    match provider:
        case "extractive":
            return None
        case "openai":
            if not base_url:
                raise ConfigurationError(
                    "the openai provider needs IOM_ASSISTANT_LLM_BASE_URL, e.g. http://127.0.0.1:8080/v1"
                )
            return OpenAIChat(base_url, model, api_key, timeout_s)
        case "llamacpp":
            if model_path is None:
                raise ConfigurationError(
                    "the llamacpp provider needs IOM_ASSISTANT_LLM_MODEL_PATH (a GGUF file)"
                )
            return LlamaCppChat(model_path)
        case _:
            raise ConfigurationError(f"unknown provider {provider!r}: choose extractive, openai or llamacpp")
