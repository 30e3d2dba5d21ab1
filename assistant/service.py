"""The one service behind the CLI, the HTTP API, the chat UI and evaluation.

question -> check -> standalone question -> hybrid retrieval -> extractive selection
         -> refuse when support is too weak
         -> provider draft (extractive, or an LLM with fallback)
         -> grounding guard -> answer with numbered citations

Over 300 lines for now: besides the pipeline it holds the LLM's streamed, guard-checked draft
(`_llm_draft`, `_verify`, `_complete`). Those move out when the extractive reader and the LLM
providers share one answerer interface (issue: the `chat is None` branches), not before.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.answer import REFUSAL_TEXT, Answer, Citation, RetrievedPassage
from assistant.answering.decision import decide, load_decision_model
from assistant.answering.extractive import ExtractiveAnswerer, Selection
from assistant.answering.llm import ChatModel, make_chat_model
from assistant.answering.prompts import Message, answer_messages, condense_messages
from assistant.citations import SENTENCE_DONE
from assistant.conversation import is_follow_up, standalone_question
from assistant.crosslingual import CrossLingualBridge, Gloss
from assistant.errors import AssistantError, IndexUnavailableError, InvalidQuestionError, ProviderError
from assistant.filters import ChunkFilter
from assistant.grounding import GroundingGuard, GroundingReport, parse_claims
from assistant.index import Index
from assistant.lexical import terms
from assistant.retrieval import Passage, RetrievalConfig, Retriever
from assistant.settings import Settings

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
LLM_PASSAGES = 6
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_FULL_STOPS = (".", "!", "?", "…", '"', "”", "’", ")")  # a sentence that ends with one of these is complete


@dataclass(frozen=True)
class StreamEvent:
    """One server-sent event: `token` pieces of text, then one final `answer`."""

    kind: str  # "token" | "answer"
    text: str = ""
    answer: Answer | None = None


def check_question(question: str) -> str:
    """The question, trimmed; InvalidQuestionError naming the problem if it cannot be asked."""
    if not isinstance(question, str):
        raise InvalidQuestionError("the question must be text")
    if _CONTROL.search(question):
        raise InvalidQuestionError(
            "the question contains control characters; remove them (plain text and new lines only)"
        )
    text = unicodedata.normalize("NFC", question).strip()
    if not text:
        raise InvalidQuestionError("the question is empty: type a question about the IOM documents")
    if len(text) > MAX_QUESTION_CHARS:
        raise InvalidQuestionError(
            f"the question is {len(text)} characters long; the limit is {MAX_QUESTION_CHARS}. "
            "Ask about one thing at a time."
        )
    if not terms(text):
        raise InvalidQuestionError("the question has no words to search for: ask with words")
    return text


class AssistantService:
    """Answers questions from the index. One instance serves all users (thread-safe)."""

    def __init__(
        self, settings: Settings, index: Index | None = None, retrieval: RetrievalConfig | None = None
    ) -> None:
        self.settings = settings
        self.index = index or Index.from_settings(settings)
        bridge = (
            CrossLingualBridge(self.index.embedder, settings.index_dir) if settings.cross_lingual else None
        )
        self.retriever = Retriever(
            self.index, retrieval or RetrievalConfig(), settings.reranker_model, bridge
        )
        self.extractive = ExtractiveAnswerer(self.index.embedder, self.retriever.lexical)
        self.guard = GroundingGuard(self.index.embedder)
        self._chat_models: dict[str, ChatModel | None] = {}
        self._lock = threading.Lock()

    # -- public API ---------------------------------------------------------------------

    def warm_up(self) -> None:
        """Load the embedder, the lexical index and the cross-lingual glosses now rather than on
        the first question (the glosses' word vectors are cached in the index folder)."""
        self.index.embedder.embed(["warm up"])
        self.retriever.sync(force=True)
        if self.retriever.bridge is not None:
            self.retriever.bridge.warm_up()

    def ask(
        self,
        question: str,
        history: Sequence[Message] = (),
        provider: str | None = None,
        filters: ChunkFilter | None = None,
    ) -> Answer:
        """Answer one question (see the module docstring)."""
        answer: Answer | None = None
        for event in self.ask_stream(question, history, provider, filters):
            if event.kind == "answer":
                answer = event.answer
        assert answer is not None
        return answer

    def ask_stream(
        self,
        question: str,
        history: Sequence[Message] = (),
        provider: str | None = None,
        filters: ChunkFilter | None = None,
    ) -> Iterator[StreamEvent]:
        """Answer one question as events: text as it is produced, then the verified answer."""
        started = time.perf_counter()
        question = check_question(question)
        provider_name = provider or self.settings.llm_provider
        chat = self._chat_model(provider_name)
        self._require_index()
        notices: list[str] = []

        standalone = self._standalone(question, history, chat, notices)
        gloss, passages, vector = self._retrieve(standalone, filters)
        retrieved_at = time.perf_counter()
        selection = self._read(question, gloss, passages, vector)
        answerable = decide(selection.answers, selection.evidence, load_decision_model())
        retrieved = [_retrieved(p) for p in passages]
        timings = {"retrieve": _ms(started, retrieved_at)}

        if not passages or not selection.sentences or not answerable:
            reason = selection.reason or ""
            text = f"{REFUSAL_TEXT} {reason}".strip()
            yield StreamEvent("token", text)
            timings["answer"] = _ms(retrieved_at)
            timings["total"] = _ms(started)
            yield StreamEvent(
                "answer",
                answer=Answer(
                    answer=text,
                    refused=True,
                    citations=[],
                    retrieved=retrieved,
                    notices=[*notices, "The closest passages found are listed under the sources."],
                    provider=provider_name,
                    timings_ms=timings,
                    question=question,
                    standalone_question=standalone,
                ),
            )
            return

        used = passages[:LLM_PASSAGES] if chat else passages
        report: GroundingReport | None = None
        if chat is not None:
            report, llm_refused = yield from self._llm_draft(chat, standalone, used, notices)
            if llm_refused:
                notices.append("The language model found no answer; showing the best matching sentences.")
                report = None
        if report is None or not report.claims:
            if report is not None:
                notices.append(
                    "The language model's answer could not be verified against the documents; "
                    "showing the sentences that answer it from the documents instead."
                )
            used = passages
            report = self.guard.check(selection.claims(), [p.chunk.text for p in used])
            if chat is None:
                yield StreamEvent("token", _compose(report, used)[0])
        if report.removed:
            notices.append(
                f"{len(report.removed)} sentence(s) removed: the cited documents do not support them."
            )
        if report.invalid_citations:
            notices.append(f"{report.invalid_citations} citation(s) to no source were dropped.")

        text, citations = _compose(report, used)
        refused = not citations
        timings["answer"] = _ms(retrieved_at)
        timings["total"] = _ms(started)
        yield StreamEvent(
            "answer",
            answer=Answer(
                answer=text if not refused else REFUSAL_TEXT,
                refused=refused,
                citations=citations,
                retrieved=retrieved,
                notices=notices,
                provider=provider_name,
                timings_ms=timings,
                question=question,
                standalone_question=standalone,
            ),
        )

    def health(self) -> dict[str, object]:
        """Counts for `/api/health`."""
        entries = self.index.manifest.entries()
        chunks = self.index.store.count()
        return {
            "status": "ok" if chunks else "empty",
            "documents": sum(1 for e in entries.values() if e.status == "indexed"),
            "chunks": chunks,
            "provider": self.settings.llm_provider,
        }

    def source_file(self, source_id: str) -> Path:
        """The original file of an indexed source, only if it lies inside its ingest folder."""
        entry = self.index.manifest.get(source_id)
        if entry is None:
            raise IndexUnavailableError(f"no document {source_id!r} in the index")
        root = Path(entry.root).resolve()
        path = (root / entry.source_id).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise IndexUnavailableError(f"no document {source_id!r} in the index")
        return path

    def select(self, question: str, filters: ChunkFilter | None = None) -> tuple[list[Passage], Selection]:
        """Retrieval and extractive selection of a standalone question, as `ask` reads it (for
        fitting the decision model)."""
        question = check_question(question)
        gloss, passages, vector = self._retrieve(question, filters)
        return passages, self._read(question, gloss, passages, vector)

    # -- steps --------------------------------------------------------------------------

    def _retrieve(
        self, standalone: str, filters: ChunkFilter | None
    ) -> tuple[Gloss, list[Passage], np.ndarray]:
        """The question glossed for its words in other languages, its passages and its vector."""
        gloss = self.retriever.gloss(standalone)
        passages, vector = self.retriever.retrieve(gloss.search_text, filters)
        return gloss, passages, vector

    def _read(self, asked: str, gloss: Gloss, passages: list[Passage], vector: np.ndarray) -> Selection:
        """The sentences that answer. A follow-up is read with its context resolved ("who carried
        it out? (the meta-evaluation ...)"): reading it by its own words alone answered fewer
        follow-ups on both dataset parts. The kind of fact asked is the user's own ("who", not
        the earlier question's "when")."""
        return self.extractive.select(gloss.search_text, passages, vector, gloss, asked=asked)

    def _require_index(self) -> None:
        if self.index.store.count() == 0:
            raise IndexUnavailableError(
                "the index is empty: run `iom-assistant ingest` (or `make serve`) to index the corpus folder"
            )

    def _chat_model(self, provider: str) -> ChatModel | None:
        with self._lock:
            if provider not in self._chat_models:
                s = self.settings
                self._chat_models[provider] = make_chat_model(
                    provider,
                    base_url=s.llm_base_url,
                    model=s.llm_model,
                    api_key=s.llm_api_key,
                    model_path=s.llm_model_path,
                    timeout_s=s.llm_timeout_s,
                )
            return self._chat_models[provider]

    def _standalone(
        self, question: str, history: Sequence[Message], chat: ChatModel | None, notices: list[str]
    ) -> str:
        if not history or not is_follow_up(question):
            return question
        if chat is not None:
            try:
                rewritten = self._complete(chat, condense_messages(question, history), max_tokens=80)
                rewritten = rewritten.strip().strip('"').splitlines()[0] if rewritten.strip() else ""
                if 3 <= len(rewritten) <= MAX_QUESTION_CHARS and terms(rewritten):
                    return rewritten
            except ProviderError as exc:
                log.warning("question rewrite failed: %s", exc)
                notices.append("The language model is unavailable; follow-up resolved without it.")
        return standalone_question(question, history)

    def _complete(self, chat: ChatModel, messages: list[Message], max_tokens: int) -> str:
        deadline = time.monotonic() + self.settings.llm_timeout_s
        parts = []
        for piece in chat.stream(messages, max_tokens=max_tokens):
            parts.append(piece)
            if time.monotonic() > deadline:
                raise ProviderError(f"the LLM took longer than {self.settings.llm_timeout_s:g} s")
        return "".join(parts)

    def _llm_draft(
        self, chat: ChatModel, question: str, passages: list[Passage], notices: list[str]
    ) -> Generator[StreamEvent, None, tuple[GroundingReport | None, bool]]:
        """Stream the LLM's answer sentence by sentence, each shown only once the guard backs it.

        Returns the grounding report (None when the LLM failed) and whether the LLM refused.
        """
        deadline = time.monotonic() + self.settings.llm_timeout_s
        texts = [p.chunk.text for p in passages]
        report = GroundingReport()
        draft: list[str] = []
        pending = ""
        try:
            for piece in chat.stream(answer_messages(question, passages)):
                draft.append(piece)
                pending += piece
                while (cut := _complete_sentence(pending)) is not None:
                    yield from self._verify(pending[:cut], texts, report)
                    pending = pending[cut:]
                if time.monotonic() > deadline:
                    raise ProviderError(f"the LLM took longer than {self.settings.llm_timeout_s:g} s")
        except ProviderError as exc:
            log.warning("LLM failed, falling back to extractive: %s", exc)
            notices.append(
                "The language model is unavailable or too slow; this answer was extracted from the documents."
            )
            return None, False
        text = "".join(draft).strip()
        if not text:
            notices.append(
                "The language model returned nothing; this answer was extracted from the documents."
            )
            return None, False
        if REFUSAL_TEXT.lower().rstrip(".") in text.lower() and len(text) < 2 * len(REFUSAL_TEXT):
            return None, True
        yield from self._verify(pending, texts, report)
        return report, False

    def _verify(self, text: str, passages: list[str], report: GroundingReport) -> Iterator[StreamEvent]:
        """Ground a piece of LLM text, add the outcome to `report`, stream what survives."""
        claims, invalid = parse_claims(text, len(passages))
        part = self.guard.check(claims, passages, invalid)
        report.claims.extend(part.claims)
        report.removed.extend(part.removed)
        report.recited += part.recited
        report.invalid_citations += part.invalid_citations
        for claim in part.claims:
            yield StreamEvent("token", f"{claim.text} ")


def _complete_sentence(text: str) -> int | None:
    """Where the first complete sentence (with its citation markers) of streamed text ends."""
    match = SENTENCE_DONE.search(text)
    return match.end() if match else None


def _compose(report: GroundingReport, passages: Sequence[Passage]) -> tuple[str, list[Citation]]:
    """The answer text with citations numbered by first appearance."""
    numbers: dict[int, int] = {}
    quotes: dict[int, list[str]] = {}
    sentences: list[str] = []
    previous = ""
    for claim in report.claims:
        marks = []
        for p in claim.passages:
            n = numbers.setdefault(p, len(numbers) + 1)
            quote = claim.quotes[p]
            if quote not in quotes.setdefault(p, []):
                quotes[p].append(quote)
            marks.append(f"[{n}]")
        # A line without a full stop ("Budget: EUR 64.7 million") ends with a line break, so it
        # stays a sentence of its own for whoever reads or checks the answer.
        if sentences:
            sentences.append(" " if previous.endswith(_FULL_STOPS) else "\n")
        sentences.append(f"{claim.text} {''.join(marks)}")
        previous = claim.text
    citations = []
    for p, n in numbers.items():
        chunk = passages[p].chunk
        citations.append(
            Citation(
                n=n,
                source_id=chunk.source_id,
                title=chunk.title,
                page=chunk.page,
                url=chunk.url,
                quote=" … ".join(quotes[p]),
                score=round(passages[p].score, 4),
                chunk_id=chunk.chunk_id,
            )
        )
    return "".join(sentences), citations


def _retrieved(passage: Passage) -> RetrievedPassage:
    chunk = passage.chunk
    return RetrievedPassage(
        rank=passage.rank,
        chunk_id=chunk.chunk_id,
        source_id=chunk.source_id,
        page=chunk.page,
        score=round(passage.score, 4),
        text=chunk.text,
        title=chunk.title,
    )


def _ms(start: float, end: float | None = None) -> float:
    return round(((end or time.perf_counter()) - start) * 1000, 1)


__all__ = ["AssistantError", "AssistantService", "StreamEvent", "check_question"]
