"""Hybrid retrieval: dense search plus BM25, fused, diversified, optionally reranked.

Dense search finds paraphrases; BM25 finds names, acronyms and numbers ("WBCAP",
"IN/285", "2022"). Reciprocal rank fusion merges the two lists, the BM25 list with the weight
fitted on the tuning part of the development set (`fusion.json`, `python -m
evaluation.fit_fusion`): the English-only embedder reads the other languages' questions and the
documents' record lines poorly, and BM25 alone put a line stating the answer first more often
than the two fused with equal weights. A per-source cap keeps
one long report from crowding out the two-page brief that answers the question. Both
indexes live in memory and follow the Chroma store incrementally (see `sync`), unless dense
search is left to Chroma's own index (`DENSE_VECTORS=engine`, assistant/engine_search.py).
"""

from __future__ import annotations

import functools
import gc
import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

from assistant.access import Reader, may_read
from assistant.crosslingual import CrossLingualBridge, Gloss
from assistant.dense import DenseIndex, DenseSearch
from assistant.documents import Chunk
from assistant.embedder import Embedder
from assistant.filters import ChunkFilter
from assistant.index import Index
from assistant.lexical import LexicalIndex

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

log = logging.getLogger(__name__)

FUSION = "fusion.json"  # the fitted weight of the BM25 list, beside this module


@functools.cache
def fitted_lexical_weight() -> float:
    """The BM25 list's weight in the fusion, as `python -m evaluation.fit_fusion` fitted it."""
    raw = json.loads(resources.files("assistant").joinpath(FUSION).read_text("utf-8"))
    return float(raw["lexical_weight"])


@dataclass(frozen=True)
class RetrievalConfig:
    """Knobs of hybrid retrieval."""

    k: int = 10  # passages returned
    candidates: int = 40  # taken from each of dense and lexical search
    rrf_k: int = 60  # reciprocal rank fusion constant
    lexical_weight: float = field(default_factory=fitted_lexical_weight)  # of the BM25 list (fusion.json)
    per_source_cap: int = 3  # at most this many passages of one source before others get a turn
    sync_interval_s: float = 2.0  # how often to look for a changed index


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: its fused rank, and its cosine similarity to the question."""

    chunk: Chunk
    rank: int
    score: float  # cosine similarity of question and chunk, -1..1


@dataclass(frozen=True)
class Candidates:
    """A query's dense and BM25 lists of chunk ids, best first, before fusion."""

    dense: list[str]
    lexical: list[str]
    chunks: dict[str, Chunk]  # every listed chunk by id
    cosine: dict[str, float]  # the dense list's similarities to the query


class Retriever:
    """Finds the passages most likely to answer a question. Safe to share across threads."""

    def __init__(
        self,
        index: Index,
        config: RetrievalConfig | None = None,
        reranker_path: str | None = None,
        bridge: CrossLingualBridge | None = None,
        embedder: Embedder | None = None,
        *,
        dense: DenseSearch | None = None,
    ):
        self.index = index
        self.embedder = embedder or index.embedder  # embeds the queries
        self.config = config or RetrievalConfig()
        self.lexical = LexicalIndex()
        self.dense = dense if dense is not None else DenseIndex()  # see make_dense_index
        self.bridge = bridge
        self._reranker_path = reranker_path
        self._reranker: CrossEncoder | None = None
        self._sync_lock = threading.Lock()
        self._seen_state: tuple[str | None, int] | None = None
        self._checked_at = 0.0
        self._readers: dict[str, tuple[str, ...]] = {}  # source -> its groups, for restricted sources

    def sync(self, force: bool = False) -> None:
        """Bring the BM25 and dense indexes in step with the store: add new chunks, drop removed ones."""
        now = time.monotonic()
        if not force and now - self._checked_at < self.config.sync_interval_s:
            return
        with self._sync_lock:
            self._checked_at = now
            store = self.index.store
            # The store's own marks, not a local file: a replica on another host sees them too.
            state = (store.generation(), store.count())
            if state == self._seen_state:
                return
            stored = store.all_ids()
            known = self.lexical.chunk_ids
            gone = known - stored
            new = sorted(stored - known)
            self.lexical.remove(gone)
            self.dense.remove(gone)
            if self._seen_state is not None:  # chunks rewritten since: they may have new readers
                kept = store.get_chunks(sorted(store.updated_since(self._seen_state[0]) & (known - gone)))
                self.lexical.refresh(kept)
                if self.bridge is not None:  # a document now everyone's teaches its words
                    self.bridge.add(kept)
            for start in range(0, len(new), 5000):
                batch = new[start : start + 5000]
                chunks = store.get_chunks(batch)
                self.lexical.add(chunks)
                if self.bridge is not None:
                    self.bridge.add(chunks)
                self.dense.add(store.vectors(self.dense.needed(batch)))  # shared: what its file lacks
            self._seen_state = state
            self._readers = {c.source_id: c.groups for c in self.lexical_candidates() if c.groups}
            if new:
                # The lexical index holds one object per chunk; keep the collector from
                # re-scanning them all on every full collection (pauses of 100s of ms at 100k).
                gc.collect()
                gc.freeze()
            log.info("lexical index synced: +%d -%d, %d chunks", len(new), len(gone), len(self.lexical))

    def gloss(self, question: str) -> Gloss:
        """The question with document words for its words in another language (see crosslingual)."""
        self.sync()
        return self.bridge.gloss(question) if self.bridge is not None else Gloss(question)

    def retrieve(
        self, query: str, where: ChunkFilter | None = None, k: int | None = None
    ) -> tuple[list[Passage], np.ndarray]:
        """The best passages for a query, best first, and the query's vector."""
        self.sync()
        k = k or self.config.k
        cfg = self.config
        vector = self.embedder.embed([query])[0]
        where = None if where is None or where.is_empty() else where
        hidden = self.hidden_sources(where.reader) if where is not None else set()
        if where is not None and not hidden:  # nothing is hidden from them
            where = where.for_everyone()
            where = None if where.is_empty() else where

        allowed = None
        if where is not None:
            allowed = {c.chunk_id for c in self.lexical_candidates() if where.accepts(c)}
        found = self.candidates(query, vector, allowed, hidden)
        chunks, cosine = found.chunks, dict(found.cosine)
        order = fuse(found.dense, found.lexical, cfg)
        cosine.update(self.dense.similarity(vector, [cid for cid in order if cid not in cosine]))

        if self._reranker_path:
            order = self._rerank(query, order, chunks)
        picked = diversify(order, chunks, k, cfg.per_source_cap)
        passages = [
            Passage(
                chunk=chunks[cid],
                rank=i + 1,
                score=cosine.get(cid, 0.0),
            )
            for i, cid in enumerate(picked)
        ]
        return passages, vector

    def candidates(
        self, query: str, vector: np.ndarray, allowed: set[str] | None = None, hidden: set[str] | None = None
    ) -> Candidates:
        """The query's dense and BM25 lists before fusion (`allowed`: only these chunk ids;
        `hidden`: documents the reader may not read, whose words then count for nothing, as if
        they were not there)."""
        n = self.config.candidates
        dense = self.dense.search(vector, n, allowed)
        lexical = self.lexical.search(query, n, allowed, self.lexical.seen_without(hidden or set()))
        chunks: dict[str, Chunk] = {}
        cosine: dict[str, float] = {}
        for cid, similarity in dense:
            chunk = self.lexical.chunk(cid)
            if chunk is not None:  # else removed between the two searches
                chunks[cid] = chunk
                cosine[cid] = similarity
        for chunk, _ in lexical:
            chunks.setdefault(chunk.chunk_id, chunk)
        return Candidates(
            [cid for cid, _ in dense if cid in chunks], [c.chunk_id for c, _ in lexical], chunks, cosine
        )

    def hidden_sources(self, reader: Reader) -> set[str]:
        """The documents a reader may not read (see assistant/access.py)."""
        self.sync()
        return {s for s, groups in self._readers.items() if not may_read(groups, reader)}

    def lexical_candidates(self) -> list[Chunk]:
        """Every chunk the lexical index holds (for filtering)."""
        return [c for cid in self.lexical.chunk_ids if (c := self.lexical.chunk(cid)) is not None]

    def _rerank(self, query: str, order: list[str], chunks: dict[str, Chunk]) -> list[str]:
        if self._reranker is None:
            from sentence_transformers import CrossEncoder

            self._reranker = CrossEncoder(self._reranker_path, local_files_only=True)
        head = order[:30]
        scores = self._reranker.predict([(query, chunks[c].searchable_text()) for c in head])
        ranked = [cid for _, cid in sorted(zip(scores, head, strict=True), key=lambda p: -float(p[0]))]
        return ranked + order[30:]


def fuse(dense: Sequence[str], lexical: Sequence[str], config: RetrievalConfig) -> list[str]:
    """Reciprocal rank fusion of the dense and the BM25 lists of chunk ids, best first."""
    fused: dict[str, float] = {}
    for weight, ranked in ((1.0, dense), (config.lexical_weight, lexical)):
        for rank, cid in enumerate(ranked):
            fused[cid] = fused.get(cid, 0.0) + weight / (config.rrf_k + rank + 1)
    return sorted(fused, key=lambda cid: -fused[cid])


def diversify(order: Sequence[str], chunks: Mapping[str, Chunk], k: int, cap: int) -> list[str]:
    """Take passages in order, skipping exact duplicate texts and sources over their cap.

    Passages skipped only for the cap fill the list if fewer than k remain.
    """
    picked: list[str] = []
    deferred: list[str] = []
    per_source: dict[str, int] = {}
    texts: set[str] = set()
    for cid in order:
        chunk = chunks[cid]
        if chunk.text in texts:
            continue
        texts.add(chunk.text)
        if per_source.get(chunk.source_id, 0) >= cap:
            deferred.append(cid)
            continue
        per_source[chunk.source_id] = per_source.get(chunk.source_id, 0) + 1
        picked.append(cid)
        if len(picked) == k:
            return picked
    return picked + deferred[: k - len(picked)]
