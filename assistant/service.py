"""The one service behind the CLI, the HTTP API, the chat UI and evaluation.

question -> check -> standalone question -> glossed, hybrid retrieval -> sentence reader
         -> decision: refuse when no sentence answers
         -> the provider's answerer drafts (answering/answerers.py), the grounding guard checks
         -> answer with numbered citations
Over 300 lines: the one service every door calls (ask, stream, search, sources), with its
steps in the order they run; the steps' own logic lives in their modules.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from assistant.access import Reader, may_read
from assistant.answer import QUOTE_JOIN, REFUSAL_TEXT, Answer, Citation, RetrievedPassage
from assistant.answering.agreement import TermStatistics, agreeing_first
from assistant.answering.answerers import Answerer, Draft, make_answerer
from assistant.answering.decision import decide, load_decision_model
from assistant.answering.prompts import Message
from assistant.answering.reader import Selection, SentenceReader
from assistant.blas_threads import limit_blas_threads
from assistant.crosslingual import CrossLingualBridge, Gloss
from assistant.dense import make_dense_index
from assistant.embedder import CachedEmbedder
from assistant.errors import AssistantError, IndexUnavailableError
from assistant.filters import ChunkFilter
from assistant.grounding import GroundedClaim, GroundingGuard, GroundingReport
from assistant.index import Index
from assistant.lexicon import load_lexicon
from assistant.manifest import COMPLETE
from assistant.notices import service_text
from assistant.question import check_question
from assistant.retrieval import Passage, RetrievalConfig, Retriever
from assistant.settings import Provider, Settings
from assistant.text import opens_sentence

log = logging.getLogger(__name__)

_FULL_STOPS = (".", "!", "?", "…", '"', "”", "’", ")")  # a sentence that ends with one of these is complete


@dataclass(frozen=True)
class StreamEvent:
    """One server-sent event: `token` pieces of text, then one final `answer`. The pieces are the
    answer's sentences as they are checked, with their [n] markers, so they join into the final
    answer's text, unless the final answer is another (a refusal after all, or the extractive
    fallback after a language model's checked sentences): the `answer` event is the one to keep."""

    kind: str  # "token" | "answer"
    text: str = ""
    answer: Answer | None = None


class AssistantService:
    """Answers questions from the index. One instance serves all users (thread-safe)."""

    def __init__(
        self, settings: Settings, index: Index | None = None, retrieval: RetrievalConfig | None = None
    ) -> None:
        self.settings = settings
        limit_blas_threads(settings.compute_threads)
        self.index = index or Index.from_settings(settings)
        bridge = (
            CrossLingualBridge(
                self.index.embedder, settings.index_dir, load_lexicon(), settings.compute_threads
            )
            if settings.cross_lingual
            else None
        )
        embedder = CachedEmbedder(
            self.index.embedder, settings.cached_vectors
        )  # questions and sentences recur
        self.retriever = Retriever(
            self.index,
            retrieval or RetrievalConfig(),
            settings.reranker_model,
            bridge,
            embedder,
            dense=make_dense_index(settings, self.index.store),
        )
        self.reader = SentenceReader(embedder, self.retriever.lexical)
        self.guard = GroundingGuard(embedder)
        self._answerers: dict[str, Answerer] = {}
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
        provider: Provider | None = None,
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
        provider: Provider | None = None,
        filters: ChunkFilter | None = None,
    ) -> Iterator[StreamEvent]:
        """Answer one question as events: text as it is produced, then the verified answer."""
        started = time.perf_counter()
        question = check_question(question, follow_up=bool(history))
        provider_name = provider or self.settings.llm_provider
        answerer = self._answerer(provider_name)
        self._require_index()
        notices: list[str] = []

        standalone = answerer.standalone(question, history, notices)
        stats = self._statistics(filters)
        gloss, passages, vector = self._retrieve(standalone, filters, answerer, stats)
        retrieved_at = time.perf_counter()
        selection = self._read(question, gloss, passages, vector, stats, follow_up=standalone != question)
        answerable = decide(selection.answers, selection.evidence, load_decision_model())
        retrieved = [retrieved_passage(p) for p in passages]
        timings = {"retrieve": _ms(started, retrieved_at)}
        refused = not passages or not selection.sentences or not answerable
        text, citations = "", list[Citation]()

        if refused:
            text = f"{REFUSAL_TEXT} {selection.reason or ''}".strip()
            notices.append(service_text("notice.closest_listed"))
            yield StreamEvent("token", text)
        else:
            draft = yield from _tokens(answerer.draft(standalone, passages, selection, notices))
            report = draft.report
            if report.removed:
                notices.append(service_text("notice.sentences_removed", count=len(report.removed)))
            if report.invalid_citations:
                notices.append(service_text("notice.citations_dropped", count=report.invalid_citations))
            text, citations = _compose(report, draft.passages)
            refused = not citations
            text = text if not refused else REFUSAL_TEXT
        timings["answer"] = _ms(retrieved_at)
        timings["total"] = _ms(started)
        yield StreamEvent(
            "answer",
            answer=Answer(
                answer=text,
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
        indexed = [e for e in self.index.manifest.entries().values() if e.status == "indexed"]
        chunks = self.index.store.count()
        # cut short, or the store lost chunks the manifest lists (the next ingest reads them again)
        incomplete = self.index.manifest.get_meta(COMPLETE) == "0" or chunks < sum(e.chunks for e in indexed)
        return {
            "status": "empty" if not chunks else "incomplete" if incomplete else "ok",
            "documents": len(indexed),
            "chunks": chunks,
            "provider": self.settings.llm_provider,
        }

    def source_file(self, source_id: str, reader: Reader = None) -> Path:
        """The original file of an indexed source, only if it lies inside its ingest folder and
        the reader may read it (to others it does not exist)."""
        entry = self.index.manifest.get(source_id)
        if entry is None or not may_read(entry.groups, reader):
            raise IndexUnavailableError(f"no document {source_id!r} in the index")
        root = Path(entry.root).resolve()
        path = entry.path.resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise IndexUnavailableError(f"no document {source_id!r} in the index")
        return path

    def may_read_all(self, source_ids: Iterable[str], reader: Reader, *, gone_ok: bool = False) -> bool:
        """Whether the reader may read every one of these documents. One no longer in the index
        has groups no one knows: it counts only with `gone_ok` (what its reader once read)."""
        entries = [self.index.manifest.get(source_id) for source_id in set(source_ids)]
        return all(may_read(e.groups, reader) if e is not None else gone_ok for e in entries)

    def search(
        self, question: str, filters: ChunkFilter | None = None, provider: Provider | None = None
    ) -> list[Passage]:
        """The passages `ask` would read for a standalone question: glossed (and rendered in
        English by the provider's model, if it has one), hybrid-retrieved, ranked."""
        question = check_question(question)
        answerer = self._answerer(provider or self.settings.llm_provider)
        self._require_index()
        return self._retrieve(question, filters, answerer, self._statistics(filters))[1]

    def select(self, question: str, filters: ChunkFilter | None = None) -> tuple[list[Passage], Selection]:
        """Retrieval and extractive selection of a standalone question, as `ask` reads it (for
        fitting the decision model)."""
        question = check_question(question)
        self._require_index()
        stats = self._statistics(filters)
        gloss, passages, vector = self._retrieve(question, filters, None, stats)
        return passages, self._read(question, gloss, passages, vector, stats)

    # -- steps --------------------------------------------------------------------------

    def _retrieve(
        self, standalone: str, filters: ChunkFilter | None, answerer: Answerer | None, stats: TermStatistics
    ) -> tuple[Gloss, list[Passage], np.ndarray]:
        """The question glossed for its words in other languages (and, when the answerer has a
        language model, with its English rendering), its passages (those agreeing with it first,
        by `stats`: the words of the documents the reader may read) and its vector."""
        gloss = self.retriever.gloss(standalone)
        if gloss.foreign and answerer is not None and (english := answerer.in_english(standalone)):
            gloss = replace(self.retriever.gloss(f"{standalone}\n{english}"), english=english)
        passages, vector = self.retriever.retrieve(gloss.search_text, filters)
        return gloss, agreeing_first(passages, gloss, stats), vector

    def _read(
        self,
        asked: str,
        gloss: Gloss,
        passages: list[Passage],
        vector: np.ndarray,
        stats: TermStatistics,
        *,
        follow_up: bool = False,
    ) -> Selection:
        """The sentences that answer. A follow-up is read with its context resolved ("who carried
        it out? (the meta-evaluation ...)"): reading it by its own words alone answered fewer
        follow-ups on both dataset parts. The kind of fact asked is the user's own ("who", not
        the earlier question's "when")."""
        return self.reader.select(
            gloss.search_text, passages, vector, gloss, asked=asked, follow_up=follow_up, stats=stats
        )

    def _statistics(self, filters: ChunkFilter | None) -> TermStatistics:
        """The words of the documents as the reader sees them: nothing they may not read shows."""
        hidden = self.retriever.hidden_sources(filters.reader) if filters is not None else set()
        return self.retriever.lexical.seen_without(hidden)

    def _require_index(self) -> None:
        if self.index.store.count() == 0:
            raise IndexUnavailableError(
                "the index is empty: run `iom-assistant ingest` (or `make serve`) to index the corpus folder"
            )

    def _answerer(self, provider: Provider) -> Answerer:
        with self._lock:
            if provider not in self._answerers:
                self._answerers[provider] = make_answerer(provider, self.settings, self.guard)
            return self._answerers[provider]


def _tokens(draft: Generator[GroundedClaim, None, Draft]) -> Generator[StreamEvent, None, Draft]:
    """An answerer's checked sentences as token events, each as it reads in the answer (its
    separator, its [n] markers); its draft at the end."""
    marks = _Marks()
    while True:
        try:
            claim = next(draft)
        except StopIteration as done:
            return done.value
        yield StreamEvent("token", marks.sentence(claim))


class _Marks:
    """Citation numbers by first appearance, given sentence by sentence, so the sentences can be
    sent as they come and still join into the answer's text."""

    def __init__(self) -> None:
        self.numbers: dict[int, int] = {}  # passage index -> n
        self.quotes: dict[int, list[str]] = {}
        self._previous: str | None = None

    def sentence(self, claim: GroundedClaim) -> str:
        """The claim as it reads in the answer: its separator, its text, its [n] markers."""
        marks = []
        for p in claim.passages:
            n = self.numbers.setdefault(p, len(self.numbers) + 1)
            quote = claim.quotes[p]
            if quote not in self.quotes.setdefault(p, []):
                self.quotes[p].append(quote)
            marks.append(f"[{n}]")
        # A line without a full stop ("Budget: EUR 64.7 million"), or before a fragment that
        # starts in lower case ("use HTCDS ..."), ends with a line break, so each stays a sentence
        # of its own for whoever reads or checks the answer.
        previous, self._previous = self._previous, claim.text
        joined = previous is not None and previous.endswith(_FULL_STOPS) and opens_sentence(claim.text)
        separator = "" if previous is None else " " if joined else "\n"
        return f"{separator}{claim.text} {''.join(marks)}"


def _compose(report: GroundingReport, passages: Sequence[Passage]) -> tuple[str, list[Citation]]:
    """The answer text with citations numbered by first appearance."""
    marks = _Marks()
    text = "".join(marks.sentence(claim) for claim in report.claims)
    citations = []
    for p, n in marks.numbers.items():
        chunk = passages[p].chunk
        citations.append(
            Citation(
                n=n,
                source_id=chunk.source_id,
                title=chunk.title,
                page=chunk.page,
                url=chunk.url,
                quote=QUOTE_JOIN.join(marks.quotes[p]),
                score=round(passages[p].score, 4),
                chunk_id=chunk.chunk_id,
            )
        )
    return text, citations


def retrieved_passage(passage: Passage) -> RetrievedPassage:
    chunk = passage.chunk
    return RetrievedPassage(
        rank=passage.rank,
        chunk_id=chunk.chunk_id,
        source_id=chunk.source_id,
        page=chunk.page,
        score=round(passage.score, 4),
        text=chunk.text,
        title=chunk.title,
        url=chunk.url,
    )


def _ms(start: float, end: float | None = None) -> float:
    return round(((end or time.perf_counter()) - start) * 1000, 1)


__all__ = ["AssistantError", "AssistantService", "StreamEvent"]
