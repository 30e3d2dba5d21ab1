"""Dense search in the store's own HNSW index, for a corpus too large to hold in every process.

`DenseIndex` keeps every chunk vector in each process's memory (1.5 KB a chunk: 1.5 GB per replica
at a million chunks) and searches them exactly. `EngineSearch` offers the same interface but asks
the Chroma collection (embedded, or a Chroma server shared by every replica) for the nearest
chunks: nothing is held here, and Chroma, the store of record, keeps its index in step with every
write, so `add` and `remove` do nothing. The price is that HNSW search is approximate; its
`ef_search` (the candidates kept while walking the graph: `ENGINE_EF_SEARCH`, the value
`bench/engine_search.py` found to return at least 99% of the exact top 10) is set on the
collection when ingest creates it, and by the first search of a process when it differs. Chroma
reads it when it loads the collection's index (a process's first search; a server's first after
its start), so a changed value reaches an embedded store at the next start of each process, and
a Chroma server once it is restarted.

A search restricted to some chunks (a reader's documents, a source filter) passes their ids to
Chroma, which filters inside the search, while they are few enough to send
(`ID_FILTER_LIMIT`); a larger set is searched by asking for more neighbours than needed and
keeping the allowed ones, asking again for more until k are found.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from assistant.store import ChromaStore

# Ids sent with one query at most: 10,000 ids are about 400 KB of request to a Chroma server.
ID_FILTER_LIMIT = 10_000


class EngineSearch:
    """Cosine search by the Chroma collection's HNSW index; the interface of `DenseIndex`."""

    def __init__(self, store: ChromaStore, ef_search: int) -> None:
        self.store = store
        self.ef_search = ef_search

    def __len__(self) -> int:
        return self.store.count()

    def needed(self, chunk_ids: Sequence[str]) -> list[str]:
        """None: Chroma holds the vectors, so the retriever reads none for `add`."""
        return []

    def add(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Nothing to do: the chunks are in the store, and in its index, once written."""

    def remove(self, chunk_ids: Iterable[str]) -> None:
        """Nothing to do: removing chunks from the store removes them from its index."""

    def search(self, vector: np.ndarray, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """The k chunks nearest the vector by the store's HNSW index, best first, with their cosine
        similarity; only chunks in `allowed` when it is given."""
        if k <= 0 or (allowed is not None and not allowed):
            return []
        self.store.tune_search(self.ef_search)  # a no-op once set; again after a rebuild
        if allowed is None:
            return self.store.nearest(vector, k)
        if len(allowed) <= ID_FILTER_LIMIT:
            return self.store.nearest(vector, k, sorted(allowed))
        total = self.store.count()
        # neighbours to ask for so that k of them are allowed, if the allowed ones are spread evenly
        asked = min(total, 2 * k * math.ceil(total / len(allowed)))
        while True:
            found = [(cid, score) for cid, score in self.store.nearest(vector, asked) if cid in allowed]
            if len(found) >= k or asked >= total:
                return found[:k]
            asked = min(total, asked * 4)

    def similarity(self, vector: np.ndarray, chunk_ids: Iterable[str]) -> dict[str, float]:
        """Cosine similarity of the vector to each stored chunk among `chunk_ids` (their vectors are
        read from the store: meant for the few chunks lexical search found and dense search did not)."""
        stored = self.store.vectors(list(dict.fromkeys(chunk_ids)))
        if not stored:
            return {}
        scores = np.stack(list(stored.values())) @ np.asarray(vector, dtype=np.float32)
        return {chunk_id: float(s) for chunk_id, s in zip(stored, scores, strict=True)}
