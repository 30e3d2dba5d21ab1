"""LangChain-native parts over the assistant's own service, for LangChain code to compose.

- `DocumentRetriever`: a `BaseRetriever` whose `Document`s are the passages the service's
  hybrid retrieval finds (the same path `ask` takes: glossed, hybrid, ranked), with
  `source_id`, `title`, `page`, `url`, `score`, `chunk_id` and `rank` in their metadata;
  optionally restricted by a `ChunkFilter` (sources, dates, and who reads: its `reader`).
- `answer_runnable`: the whole answering (reader, provider, grounding guard) as an LCEL
  `Runnable`: a question, or `{"question", "history"}`, in; the answer object's dict out.
  It streams: `{"answer": piece}` chunks as each sentence is checked, then the citations.
- `chat_model`: the LangChain chat model the settings name, built by `init_chat_model`.
- `numbered_passages`: documents as a numbered context block for a prompt of one's own.

    from assistant.langchain import DocumentRetriever, chat_model, numbered_passages

    retriever = DocumentRetriever(service=AssistantService(settings))
    chain = {"context": retriever | numbered_passages, "question": RunnablePassthrough()} | prompt | llm
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.messages import BaseMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import run_in_executor
from langchain_core.runnables.utils import AddableDict

from assistant.answering.llm import ChatModelSpec, init_chat
from assistant.answering.prompts import Message
from assistant.errors import InvalidQuestionError
from assistant.filters import ChunkFilter
from assistant.retrieval import Passage
from assistant.service import AssistantService
from assistant.settings import Provider, Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

# the history's roles as the service takes them, from theirs and LangChain's message types
_ROLES = {"user": "user", "assistant": "assistant", "human": "user", "ai": "assistant"}


class DocumentRetriever(BaseRetriever):
    """The assistant's hybrid retrieval as a LangChain retriever."""

    service: AssistantService
    filters: ChunkFilter | None = None  # e.g. ChunkFilter(reader=frozenset({"hr"})) for a reader's view
    k: int | None = None  # at most this many documents; None: as many as retrieval returns
    provider: Provider | None = None  # whose language model renders a foreign question in English

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        passages = self.service.search(query, self.filters, self.provider)
        return [passage_document(p) for p in passages[: self.k]]


def passage_document(passage: Passage) -> Document:
    """A retrieved passage as a LangChain `Document`."""
    chunk = passage.chunk
    return Document(
        page_content=chunk.text,
        id=chunk.chunk_id,
        metadata={
            "source_id": chunk.source_id,
            "title": chunk.title,
            "page": chunk.page,
            "url": chunk.url,
            "score": round(passage.score, 4),
            "chunk_id": chunk.chunk_id,
            "rank": passage.rank,
        },
    )


def numbered_passages(documents: Sequence[Document]) -> str:
    """Documents as `[1] (title, p. 3) text` blocks, so a model can cite them by number."""
    blocks = []
    for n, doc in enumerate(documents, start=1):
        page = doc.metadata.get("page")
        where = doc.metadata.get("title") or doc.metadata.get("source_id", "")
        blocks.append(f"[{n}] ({where}{f', p. {page}' if page else ''}) {doc.page_content}")
    return "\n\n".join(blocks)


def answer_runnable(
    service: AssistantService, provider: Provider | None = None, filters: ChunkFilter | None = None
) -> Runnable[Any, dict[str, Any]]:
    """The service's answering as an LCEL `Runnable`: a question string or `{"question",
    "history"}` (history: `{role, content}` dicts, `(role, content)` pairs or LangChain messages)
    in; the answer object (`answer`, `citations`, `refused`, `notices`, ...) out as a dict.

    `.stream()` / `.astream()` yield `{"answer": piece}` chunks as the service checks each
    sentence, then one last chunk with the rest of the answer object (`citations`, `refused`,
    `notices`, ...); the chunks add up (`+`) to what `.invoke()` returns."""
    return AnswerRunnable(service=service, provider=provider, filters=filters).with_config(
        run_name="iom_answer"
    )


class AnswerRunnable(Runnable[Any, dict[str, Any]]):
    """The service's answering, invoked or streamed (see `answer_runnable`)."""

    def __init__(
        self, service: AssistantService, provider: Provider | None = None, filters: ChunkFilter | None = None
    ) -> None:
        self.service = service
        self.provider = provider
        self.filters = filters

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> dict[str, Any]:
        """The answer object's dict."""
        return self._call_with_config(self._answer, input, config)

    def transform(
        self, input: Iterator[Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[dict[str, Any]]:
        """The answer's text pieces as the service checks them, then the rest of the answer."""
        yield from self._transform_stream_with_config(input, self._pieces, config)

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[dict[str, Any]]:
        """As `transform`, for one input."""
        yield from self.transform(iter([input]), config, **kwargs)

    async def atransform(
        self, input: AsyncIterator[Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """As `transform`; the service runs in a worker thread, one piece at a time."""
        async for chunk in self._atransform_stream_with_config(input, self._apieces, config):
            yield chunk

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """As `atransform`, for one input."""

        async def one() -> AsyncIterator[Any]:
            yield input

        async for chunk in self.atransform(one(), config, **kwargs):
            yield chunk

    def _answer(self, value: Any) -> dict[str, Any]:
        question, history = _request(value)
        return self.service.ask(question, history, self.provider, self.filters).to_dict()

    def _pieces(self, inputs: Iterator[Any]) -> Iterator[dict[str, Any]]:
        question, history = _request(_whole(inputs))
        for event in self.service.ask_stream(question, history, self.provider, self.filters):
            if event.answer is not None:
                rest = event.answer.to_dict()
                del rest["answer"]
                yield AddableDict(rest)
            else:
                yield AddableDict(answer=event.text)

    async def _apieces(self, inputs: AsyncIterator[Any]) -> AsyncIterator[dict[str, Any]]:
        whole: list[Any] = [chunk async for chunk in inputs]
        pieces = self._pieces(iter(whole))
        while (piece := await run_in_executor(None, next, pieces, None)) is not None:
            yield piece


def _whole(inputs: Iterator[Any]) -> Any:
    """An input that came in pieces, added up as LangChain adds them (strings join, dicts merge)."""
    whole: Any = None
    for chunk in inputs:
        try:
            whole = chunk if whole is None else whole + chunk
        except TypeError:
            whole = chunk
    return whole


def chat_model(settings: Settings) -> BaseChatModel:
    """The LangChain chat model of the `LLM_*` settings (`LLM_MODEL_PROVIDER`, `LLM_MODEL`,
    `LLM_BASE_URL`, ...), built by `init_chat_model`; no request is sent."""
    return init_chat(ChatModelSpec.from_settings(settings))


def _request(value: str | Mapping[str, Any]) -> tuple[str, list[Message]]:
    if isinstance(value, str):
        return value, []
    if not isinstance(value, Mapping) or not isinstance(value.get("question"), str):
        raise InvalidQuestionError('the input must be a question, or {"question": str, "history": [...]}')
    return value["question"], [_message(m) for m in value.get("history") or ()]


def _message(message: object) -> Message:
    role: object
    content: object
    if isinstance(message, BaseMessage):
        role, content = message.type, str(message.text)
    elif isinstance(message, Mapping):
        role, content = message.get("role"), message.get("content")
    elif isinstance(message, Sequence) and not isinstance(message, str) and len(message) == 2:
        role, content = message
    else:
        role, content = None, None
    if role not in _ROLES or not isinstance(content, str):
        raise InvalidQuestionError(
            f"a history message is a user or assistant turn: {{role, content}}, (role, content) or a "
            f"LangChain message, not {message!r:.120}"
        )
    return _ROLES[role], content


__all__ = [
    "AnswerRunnable",
    "DocumentRetriever",
    "answer_runnable",
    "chat_model",
    "numbered_passages",
    "passage_document",
]
