"""LLM chat backends behind one small interface: stream text for a list of messages.

`LangChainChat` is any LangChain chat model, built by LangChain's `init_chat_model` from a
`ChatModelSpec` (from the settings: an OpenAI-compatible endpoint such as vLLM, Ollama or the
llama.cpp server by default; Azure OpenAI, Ollama's own API, Anthropic, ... by
`LLM_MODEL_PROVIDER`); `LlamaCppChat` runs a local GGUF file in-process with
llama-cpp-python (optional extra). Failures become `ProviderError`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from assistant.answering.prompts import Message
from assistant.errors import ConfigurationError, ProviderError
from assistant.settings import PROVIDERS, Provider, Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from llama_cpp import Llama

log = logging.getLogger(__name__)

NO_KEY = "not-needed"  # a local OpenAI-compatible server wants no key, but the client insists on one


class ChatModel(Protocol):
    """Streams the reply of a chat model."""

    def stream(self, messages: Sequence[Message], max_tokens: int = 300) -> Iterator[str]:
        """Yield pieces of the reply; raise ProviderError on failure or timeout."""
        ...


@dataclass(frozen=True)
class ChatModelSpec:
    """Which LangChain chat model `init_chat_model` builds and how it is reached."""

    model: str
    model_provider: str  # an init_chat_model provider: openai, azure_openai, ollama, ...
    timeout_s: float
    base_url: str | None = None  # Azure OpenAI: the resource's endpoint
    api_key: str | None = None  # None: the integration's own variable (AZURE_OPENAI_API_KEY, ...)
    api_version: str | None = None  # Azure OpenAI only

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatModelSpec:
        """The chat model the `LLM_*` settings name."""
        return cls(
            model=settings.llm_model,
            model_provider=settings.llm_model_provider,
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key,
            api_version=settings.llm_api_version,
            timeout_s=settings.llm_timeout_s,
        )

    def where(self) -> str:
        """The model and where it runs, for messages."""
        at = f" at {self.base_url}" if self.base_url else ""
        return f"the {self.model_provider} model {self.model!r}{at}"


def init_chat(spec: ChatModelSpec) -> BaseChatModel:
    """The LangChain chat model of a spec, built by `init_chat_model` (no request is sent).

    ConfigurationError when LangChain or the provider's integration package is missing."""
    try:
        from langchain.chat_models import init_chat_model
    except ImportError as exc:
        raise ConfigurationError("LLM providers need LangChain: pip install langchain") from exc
    options: dict[str, Any] = {"temperature": 0.0, "max_retries": 0, "timeout": spec.timeout_s}
    if spec.model_provider == "azure_openai":
        options["azure_deployment"] = spec.model
        if spec.base_url:
            options["azure_endpoint"] = spec.base_url
        if spec.api_version:
            options["api_version"] = spec.api_version
    elif spec.base_url:
        options["base_url"] = spec.base_url
    api_key = spec.api_key or (NO_KEY if spec.model_provider == "openai" else None)
    if api_key:
        options["api_key"] = api_key
    try:
        return init_chat_model(spec.model, model_provider=spec.model_provider, **options)
    except ImportError as exc:  # the provider's integration package is not installed
        raise ConfigurationError(f"IOM_ASSISTANT_LLM_MODEL_PROVIDER={spec.model_provider}: {exc}") from exc
    except ValueError as exc:  # an unknown provider, or settings the integration rejects
        raise ConfigurationError(
            f"cannot build {spec.where()} (IOM_ASSISTANT_LLM_MODEL_PROVIDER, LLM_MODEL, LLM_BASE_URL): {exc}"
        ) from exc


class LangChainChat:
    """A LangChain chat model (built on first use), with a hard timeout and no retries."""

    def __init__(self, spec: ChatModelSpec) -> None:
        self.spec = spec
        self._client: BaseChatModel | None = None

    def _chat(self) -> BaseChatModel:
        if self._client is None:
            self._client = init_chat(self.spec)
        return self._client

    def stream(self, messages: Sequence[Message], max_tokens: int = 300) -> Iterator[str]:
        chat = self._chat()
        try:
            for piece in chat.stream(list(messages), max_tokens=max_tokens):
                text = piece.content if isinstance(piece.content, str) else ""
                if text:
                    yield text
        except ProviderError:
            raise
        except Exception as exc:  # each integration raises many types for down, slow, refused
            raise ProviderError(f"{self.spec.where()} failed ({type(exc).__name__}: {exc})") from exc


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


def make_chat_model(provider: Provider, settings: Settings) -> ChatModel | None:
    """The chat model for a provider name; None for `extractive`."""
    match provider:
        case "extractive":
            return None
        case "openai":
            if settings.llm_model_provider == "openai" and not settings.llm_base_url:
                raise ConfigurationError(
                    "the openai provider needs IOM_ASSISTANT_LLM_BASE_URL, e.g. http://127.0.0.1:8080/v1"
                )
            return LangChainChat(ChatModelSpec.from_settings(settings))
        case "llamacpp":
            if settings.llm_model_path is None:
                raise ConfigurationError(
                    "the llamacpp provider needs IOM_ASSISTANT_LLM_MODEL_PATH (a GGUF file)"
                )
            return LlamaCppChat(settings.llm_model_path)
        case _:
            raise ConfigurationError(f"unknown provider {provider!r}: choose {', '.join(PROVIDERS)}")
