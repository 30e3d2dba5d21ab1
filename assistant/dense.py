"""Exact dense search: every chunk vector in one in-memory matrix, kept in step with the store.

Chroma's HNSW search is approximate, and on this corpus measurably so: against exact
cosine it found 94% of the true top 10 over the development questions, and which
neighbours it missed changed from one process to the next, so the same question could
get different passages after a restart. A matrix product over every vector is exact,
repeatable and cheap at this scale (0.4 ms for 12,000 chunks, a few ms at 100,000;
384 float32 per chunk, 150 MB at 100,000). Chroma stays the store of record: vectors
are read from it once, when chunks are added.

`DENSE_VECTORS` picks where the vectors are held (`make_dense_index`): `memory`, this matrix in
each process; `shared`, one memory-mapped file per host (`assistant/shared_vectors.py`); `engine`,
nowhere here: Chroma's own HNSW index answers (`assistant/engine_search.py`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from assistant.settings import Settings
    from assistant.store import ChromaStore


class DenseSearch(Protocol):
    """Cosine search over the chunks a retriever holds, kept in step by `Retriever.sync` (exact;
    approximate in Chroma's own index with `DENSE_VECTORS=engine`)."""

    def __len__(self) -> int: ...

    def needed(self, chunk_ids: Sequence[str]) -> list[str]:
        """Take these chunks in; the ids whose vectors must then be given to `add`."""
        ...

    def add(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Hold vectors by chunk id (replacing any with the same id)."""
        ...

    def remove(self, chunk_ids: Iterable[str]) -> None:
        """Forget chunks; unknown ids are ignored."""
        ...

    def search(self, vector: np.ndarray, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """The k held chunk ids most similar to the vector, best first, with their similarity."""
        ...

    def similarity(self, vector: np.ndarray, chunk_ids: Iterable[str]) -> dict[str, float]:
        """Cosine similarity of the vector to each held chunk among `chunk_ids`."""
        ...


def make_dense_index(settings: Settings, store: ChromaStore) -> DenseSearch:
    """The dense index `DENSE_VECTORS` names."""
    match settings.dense_vectors:
        case "memory":
            return DenseIndex()
        case "shared":
            from assistant.shared_vectors import FOLDER, SharedDenseIndex

            return SharedDenseIndex(settings.index_dir / FOLDER, store.model, store)
        case "engine":
            from assistant.engine_search import EngineSearch

            return EngineSearch(store, settings.engine_ef_search)


class DenseIndex:
    """Cosine search over normalised vectors with incremental add and remove. Thread-safe."""

    def __init__(self, dimensions: int | None = None) -> None:
        self._lock = threading.RLock()
        self._dimensions = dimensions
        self._reset()

    def _reset(self) -> None:
        self._slot: dict[str, int] = {}  # chunk id -> row
        self._ids: list[str | None] = []  # row -> chunk id (None = removed)
        # `_rows` is the used head of `_buffer`, which grows by doubling: adding a million vectors
        # in batches copies them a few times, not once per batch.
        self._buffer = np.zeros((0, self._dimensions or 0), dtype=np.float32)
        self._rows = self._buffer
        self._alive = np.zeros(0, dtype=bool)

    def __len__(self) -> int:
        return len(self._slot)

    def needed(self, chunk_ids: Sequence[str]) -> list[str]:
        """Every one: this index holds only the vectors it is given."""
        return list(chunk_ids)

    def add(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Hold vectors by chunk id (replacing any with the same id)."""
        if not vectors:
            return
        with self._lock:
            self.remove(vectors)
            ids = list(vectors)
            block = np.stack([np.asarray(vectors[i], dtype=np.float32) for i in ids])
            if self._dimensions is None or not self._ids:
                self._dimensions = block.shape[1]
                self._buffer = self._buffer.reshape(0, self._dimensions)
            elif block.shape[1] != self._dimensions:
                raise ValueError(f"vectors of {block.shape[1]} dimensions in an index of {self._dimensions}")
            start = len(self._ids)
            end = start + len(ids)
            if end > len(self._buffer):
                grown = np.empty((max(end, 2 * len(self._buffer)), self._dimensions), dtype=np.float32)
                grown[:start] = self._buffer[:start]
                self._buffer = grown
            self._buffer[start:end] = block
            self._rows = self._buffer[:end]
            self._alive = np.concatenate([self._alive, np.ones(len(ids), dtype=bool)])
            self._ids.extend(ids)
            self._slot.update((chunk_id, start + n) for n, chunk_id in enumerate(ids))

    def remove(self, chunk_ids: Iterable[str]) -> None:
        """Forget vectors; unknown ids are ignored. Rows are compacted once a third are dead."""
        with self._lock:
            for chunk_id in chunk_ids:
                row = self._slot.pop(chunk_id, None)
                if row is not None:
                    self._alive[row] = False
                    self._ids[row] = None
            if len(self._ids) > 1000 and len(self._slot) < 0.67 * len(self._ids):
                keep = np.flatnonzero(self._alive)
                ids = [self._ids[row] for row in keep]
                self._buffer, self._alive = self._rows[keep], self._alive[keep]
                self._rows = self._buffer
                self._ids = ids
                self._slot = {chunk_id: n for n, chunk_id in enumerate(ids) if chunk_id is not None}

    def search(self, vector: np.ndarray, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """The k chunk ids most similar to the vector, best first, with their cosine similarity.

        Ties are broken by the order chunks were added, so the same index gives the same list.
        """
        with self._lock:
            if not self._slot or k <= 0:
                return []
            scores = self._rows @ np.asarray(vector, dtype=np.float32)
            if allowed is None:
                rows = np.flatnonzero(self._alive)
            else:
                rows = np.array(sorted(self._slot[i] for i in allowed if i in self._slot), dtype=np.int64)
            if rows.size == 0:
                return []
            rows, top = best_rows(scores, rows, k)
            return [(str(self._ids[row]), float(score)) for row, score in zip(rows, top, strict=True)]

    def similarity(self, vector: np.ndarray, chunk_ids: Iterable[str]) -> dict[str, float]:
        """Cosine similarity of the vector to each held chunk among `chunk_ids`."""
        with self._lock:
            rows = {i: self._slot[i] for i in chunk_ids if i in self._slot}
            if not rows:
                return {}
            scores = self._rows[list(rows.values())] @ np.asarray(vector, dtype=np.float32)
            return {chunk_id: float(s) for chunk_id, s in zip(rows, scores, strict=True)}


def best_rows(scores: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k of `rows` with the highest `scores` (indexed by row), best first, and their scores;
    ties go to the lower row, so the same vectors give the same list."""
    top = scores if rows.size == scores.size else scores[rows]  # every row: no copy
    if rows.size > k:
        head = np.argpartition(-top, k - 1)[:k]
        rows, top = rows[head], top[head]
    order = np.lexsort((rows, -top))
    return rows[order], top[order]
