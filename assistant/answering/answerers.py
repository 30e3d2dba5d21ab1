"""The answerers: what turns a question, its passages and the reader's selection into an answer.

Every provider is an `Answerer` with the same two steps, so the service has no branch per
provider:
- `standalone`: a follow-up question rewritten to stand alone;
- `in_english`: a question in another language rendered in English, searched beside the
  original (a language model can; the extractive answerer relies on the cross-lingual glosses);
- `draft`: the answer's sentences, each checked by the grounding guard, streamed as they pass,
  then the checked `Draft` (its claims and the passages their citations number).

`ExtractiveAnswerer` (the default) answers with the sentences the reader chose; `LLMAnswerer`
lets a language model write them, shows a sentence only once the guard backs it, and falls back
to the extractive answer, with a notice, when the model fails, refuses or is not backed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Protocol

from assistant.answer import REFUSAL_TEXT
from assistant.answering.llm import ChatModel, make_chat_model
from assistant.answering.prompts import Message, answer_messages, condense_messages, english_messages
from assistant.answering.reader import Selection
from assistant.citations import SENTENCE_DONE
from assistant.conversation import is_follow_up, standalone_question
from assistant.errors import ProviderError
from assistant.grounding import GroundedClaim, GroundingGuard, GroundingReport, parse_claims
from assistant.lexical import terms
from assistant.notices import service_text
from assistant.question import MAX_QUESTION_CHARS
from assistant.retrieval import Passage
from assistant.settings import Provider, Settings

log = logging.getLogger(__name__)

LLM_PASSAGES = 6  # the top passages a language model reads (its context is small)


@dataclass(frozen=True)
class Draft:
    """The sentences that passed the guard, and the passages their citations refer to."""

    report: GroundingReport
    passages: Sequence[Passage]


class Answerer(Protocol):
    """One way of writing the answer (a provider)."""

    def standalone(self, question: str, history: Sequence[Message], notices: list[str]) -> str:
        """The question, rewritten to stand alone when it follows up on the conversation."""
        ...

    def in_english(self, question: str) -> str | None:
        """The question in English, or None to search it as asked (and glossed)."""
        ...

    def draft(
        self, question: str, passages: Sequence[Passage], selection: Selection, notices: list[str]
    ) -> Generator[GroundedClaim, None, Draft]:
        """Stream the answer's checked sentences, in the answer's order; return the checked draft."""
        ...


class ExtractiveAnswerer:
    """Answers with the passage sentences the reader chose: no language model."""

    def __init__(self, guard: GroundingGuard) -> None:
        self.guard = guard

    def standalone(self, question: str, history: Sequence[Message], notices: list[str]) -> str:
        if not history or not is_follow_up(question):
            return question
        return standalone_question(question, history)

    def in_english(self, question: str) -> str | None:
        return None

    def draft(
        self, question: str, passages: Sequence[Passage], selection: Selection, notices: list[str]
    ) -> Generator[GroundedClaim, None, Draft]:
        report = self.guard.check(selection.claims(), [p.chunk.text for p in passages])
        yield from report.claims
        return Draft(report, passages)


class LLMAnswerer:
    """A language model writes the answer from the top passages; the guard checks every sentence."""

    def __init__(self, chat: ChatModel, guard: GroundingGuard, timeout_s: float) -> None:
        self.chat = chat
        self.guard = guard
        self.timeout_s = timeout_s
        self.fallback = ExtractiveAnswerer(guard)

    def standalone(self, question: str, history: Sequence[Message], notices: list[str]) -> str:
        if not history or not is_follow_up(question):
            return question
        try:
            if rewritten := self._question(condense_messages(question, history)):
                return rewritten
        except ProviderError as exc:
            log.warning("question rewrite failed: %s", exc)
            notices.append(service_text("notice.llm_unavailable_follow_up"))
        return self.fallback.standalone(question, history, notices)

    def in_english(self, question: str) -> str | None:
        try:
            return self._question(english_messages(question))
        except ProviderError as exc:
            log.warning("question translation failed: %s", exc)
            return None

    def draft(
        self, question: str, passages: Sequence[Passage], selection: Selection, notices: list[str]
    ) -> Generator[GroundedClaim, None, Draft]:
        used = passages[:LLM_PASSAGES]
        report, refused = yield from self._written(question, used, notices)
        if refused:
            notices.append(service_text("notice.llm_no_answer"))
        elif report is not None and report.claims:
            return Draft(report, used)
        elif report is not None:
            notices.append(service_text("notice.llm_unverified"))
        return (yield from self.fallback.draft(question, passages, selection, notices))

    def _written(
        self, question: str, passages: Sequence[Passage], notices: list[str]
    ) -> Generator[GroundedClaim, None, tuple[GroundingReport | None, bool]]:
        """Stream the model's answer sentence by sentence, each shown only once the guard backs
        it. Returns the report (None when the model failed) and whether the model refused."""
        deadline = time.monotonic() + self.timeout_s
        texts = [p.chunk.text for p in passages]
        report = GroundingReport()
        draft: list[str] = []
        pending = ""
        try:
            for piece in self.chat.stream(answer_messages(question, passages)):
                draft.append(piece)
                pending += piece
                while (match := SENTENCE_DONE.search(pending)) is not None:
                    yield from self._verify(pending[: match.end()], texts, report)
                    pending = pending[match.end() :]
                if time.monotonic() > deadline:
                    raise ProviderError(f"the LLM took longer than {self.timeout_s:g} s")
        except ProviderError as exc:
            log.warning("LLM failed, falling back to extractive: %s", exc)
            notices.append(service_text("notice.llm_failed"))
            return None, False
        text = "".join(draft).strip()
        if not text:
            notices.append(service_text("notice.llm_empty"))
            return None, False
        if REFUSAL_TEXT.lower().rstrip(".") in text.lower() and len(text) < 2 * len(REFUSAL_TEXT):
            return None, True
        yield from self._verify(pending, texts, report)
        return report, False

    def _verify(
        self, text: str, passages: list[str], report: GroundingReport
    ) -> Generator[GroundedClaim, None, None]:
        """Ground a piece of the model's text, add the outcome to `report`, stream what survives."""
        claims, invalid = parse_claims(text, len(passages))
        part = self.guard.check(claims, passages, invalid)
        report.claims.extend(part.claims)
        report.removed.extend(part.removed)
        report.recited += part.recited
        report.invalid_citations += part.invalid_citations
        yield from part.claims

    def _question(self, messages: list[Message]) -> str | None:
        """The question a model was asked to write: its reply's first line, unquoted, when that
        is a question one could search with (ProviderError when the model fails)."""
        reply = self._complete(messages, max_tokens=80).strip()
        line = reply.splitlines()[0].strip().strip('"').strip() if reply else ""
        return line if 3 <= len(line) <= MAX_QUESTION_CHARS and terms(line) else None

    def _complete(self, messages: list[Message], max_tokens: int) -> str:
        deadline = time.monotonic() + self.timeout_s
        parts = []
        for piece in self.chat.stream(messages, max_tokens=max_tokens):
            parts.append(piece)
            if time.monotonic() > deadline:
                raise ProviderError(f"the LLM took longer than {self.timeout_s:g} s")
        return "".join(parts)


def make_answerer(provider: Provider, settings: Settings, guard: GroundingGuard) -> Answerer:
    """The answerer of a provider name (ConfigurationError when its settings are missing)."""
    chat = make_chat_model(provider, settings)
    if chat is None:
        return ExtractiveAnswerer(guard)
    return LLMAnswerer(chat, guard, settings.llm_timeout_s)
