"""BM25 over the stored chunks, kept in step with the index incrementally.

Chunks are added and removed one by one (no rebuild on each question); postings
are numpy arrays rebuilt lazily per term, so scoring stays vectorised at 100k chunks.
Over 300 lines: the index and `VisibleTerms`, its statistics as a restricted reader sees them, read
the same private counts and change together.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from array import array
from collections import Counter
from collections.abc import Iterable

import numpy as np

from assistant.documents import Chunk
from assistant.text import STOPWORDS, fold, words

STEMS_KEPT = 1 << 14  # about 3 MB of words and their stems
_SUFFIXES = ("ations", "ation", "ings", "ing", "ers", "ies", "ied", "ed", "es", "er", "s", "e")


@functools.lru_cache(maxsize=STEMS_KEPT)
def stem(word: str) -> str:
    """A light suffix stem, so "organize", "organized" and "organization" meet. Kept for the
    words met most recently: an answer stems some 3,500 words of its passages, mostly the same."""
    if len(word) <= 4 or not word.isalpha():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            return word[: -len(suffix)]
    return word


_ELISIONS = frozenset("l d qu j n s c m t".split())  # French "l'initiative", "d'origine"


def bare(word: str) -> str:
    """A folded word without a French elision ("l'initiative") or an English possessive
    ("ethiopia's"): "Ethiopia's office" is about Ethiopia."""
    for mark in "'’":
        head, found, tail = word.partition(mark)
        if found and head in _ELISIONS and tail:
            word = tail
        elif found and tail == "s":
            word = head
    return word


def terms(text: str) -> list[str]:
    """Index terms: folded words without stop words, elisions or possessives, lightly stemmed."""
    return [stem(bare(word)) for word in words(text) if word not in STOPWORDS]


def covered(text: str, by: str) -> float:
    """The share of a text's terms that another text holds (0 when it has none)."""
    own, other = set(terms(text)), set(terms(by))
    return len(own & other) / (len(own) or 1)


def overlap(a: str, b: str) -> float:
    """The share of the shorter text's terms that the other holds: 1 when one repeats the other."""
    wa, wb = set(terms(a)), set(terms(b))
    return len(wa & wb) / (min(len(wa), len(wb)) or 1)


# A word inside a sentence: after a lower-case word, a comma or a colon and one space.
_MID_SENTENCE = re.compile(r"(?<=[a-z,;:] )([^\W\d_][\w’'-]*)")


def name_counts(text: str) -> tuple[Counter[str], Counter[str]]:
    """Per term, how often it stands inside a sentence, and how often capitalised there."""
    seen: Counter[str] = Counter()
    upper: Counter[str] = Counter()
    for match in _MID_SENTENCE.finditer(text):
        word = match.group(1)
        term = stem(fold(word))
        seen[term] += 1
        upper[term] += word[0].isupper()
    return seen, upper


class LexicalIndex:
    """Okapi BM25 (k1=1.2, b=0.75) with incremental add and remove. Thread-safe.

    Postings are compact append-only arrays; a removed chunk leaves a tombstone that
    scoring masks out, and the arrays are compacted once a third of them are dead.
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._lock = threading.RLock()
        self._reset()

    def _reset(self) -> None:
        self._slot: dict[str, int] = {}  # chunk id -> slot
        self._chunks: list[Chunk | None] = []  # slot -> chunk (None = removed)
        self._lengths = array("I")
        self._alive = bytearray()
        self._post_slots: dict[str, array[int]] = {}
        self._post_tfs: dict[str, array[int]] = {}
        self._df: Counter[str] = Counter()
        self._source_df: dict[str, Counter[str]] = {}  # per document: term -> chunks holding it
        self._source_chunks: Counter[str] = Counter()  # per document: its chunks
        self._source_length: Counter[str] = Counter()  # per document: its chunks' terms
        self._inside: Counter[str] = Counter()  # term -> times inside a sentence
        self._capitalised: Counter[str] = Counter()  # term -> ... of which capitalised
        # the same two counts for each document not everyone may read: VisibleTerms
        self._restricted_names: dict[str, tuple[Counter[str], Counter[str]]] = {}
        self._total_length = 0

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, chunk_id: object) -> bool:
        return chunk_id in self._slot

    @property
    def chunk_ids(self) -> set[str]:
        """Ids of the chunks indexed."""
        with self._lock:
            return set(self._slot)

    def chunk(self, chunk_id: str) -> Chunk | None:
        """An indexed chunk by id."""
        slot = self._slot.get(chunk_id)
        return None if slot is None else self._chunks[slot]

    def add(self, chunks: Iterable[Chunk]) -> None:
        """Index chunks (replacing any with the same id)."""
        with self._lock:
            for chunk in chunks:
                if chunk.chunk_id in self._slot:
                    self._remove_one(chunk.chunk_id)
                counts = Counter(terms(chunk.searchable_text()))
                slot = len(self._chunks)
                self._chunks.append(chunk)
                length = sum(counts.values())
                self._lengths.append(length)
                self._alive.append(1)
                self._total_length += length
                self._slot[chunk.chunk_id] = slot
                self._source_df.setdefault(chunk.source_id, Counter()).update(counts.keys())
                self._source_chunks[chunk.source_id] += 1
                self._source_length[chunk.source_id] += length
                seen, upper = name_counts(chunk.text)
                self._inside.update(seen)
                self._capitalised.update(upper)
                if chunk.groups:
                    self._count_restricted_names(chunk, 1)
                for term, tf in counts.items():
                    self._post_slots.setdefault(term, array("I")).append(slot)
                    self._post_tfs.setdefault(term, array("H")).append(min(tf, 65535))
                    self._df[term] += 1

    def refresh(self, chunks: Iterable[Chunk]) -> None:
        """Take new metadata (readers, dates) for indexed chunks; their text is part of their id."""
        with self._lock:
            for chunk in chunks:
                slot = self._slot.get(chunk.chunk_id)
                if slot is None:
                    continue
                old = self._chunks[slot]
                if old is not None and bool(old.groups) != bool(chunk.groups):
                    self._count_restricted_names(chunk, 1 if chunk.groups else -1)
                self._chunks[slot] = chunk

    def _count_restricted_names(self, chunk: Chunk, sign: int) -> None:
        seen, upper = name_counts(chunk.text)
        inside, capitalised = self._restricted_names.setdefault(chunk.source_id, (Counter(), Counter()))
        if sign > 0:
            inside.update(seen)
            capitalised.update(upper)
        else:
            inside.subtract(seen)
            capitalised.subtract(upper)
        if not +inside:
            del self._restricted_names[chunk.source_id]

    def remove(self, chunk_ids: Iterable[str]) -> None:
        """Forget chunks; unknown ids are ignored."""
        with self._lock:
            for chunk_id in chunk_ids:
                if chunk_id in self._slot:
                    self._remove_one(chunk_id)
            if len(self._chunks) > 1000 and len(self._slot) < 0.67 * len(self._chunks):
                live = [c for c in self._chunks if c is not None]
                self._reset()
                self.add(live)

    def _remove_one(self, chunk_id: str) -> None:
        slot = self._slot.pop(chunk_id)
        chunk = self._chunks[slot]
        if chunk is not None:
            held = set(terms(chunk.searchable_text()))
            for term in held:
                self._df[term] -= 1
                if self._df[term] <= 0:
                    del self._df[term]
            in_source = self._source_df.get(chunk.source_id, Counter())
            for term in held & in_source.keys():
                in_source[term] -= 1
                if in_source[term] <= 0:
                    del in_source[term]
            if not in_source:
                self._source_df.pop(chunk.source_id, None)
            self._source_chunks[chunk.source_id] -= 1
            self._source_length[chunk.source_id] -= self._lengths[slot]
            if self._source_chunks[chunk.source_id] <= 0:
                del self._source_chunks[chunk.source_id], self._source_length[chunk.source_id]
            seen, upper = name_counts(chunk.text)
            self._inside.subtract(seen)
            self._capitalised.subtract(upper)
            if chunk.groups:
                self._count_restricted_names(chunk, -1)
        self._total_length -= self._lengths[slot]
        self._alive[slot] = 0
        self._chunks[slot] = None

    def in_source(self, source_id: str, term: str) -> bool:
        """Whether any chunk of a document holds a (normalised) term."""
        return self._source_df.get(source_id, Counter()).get(term, 0) > 0

    def is_name(self, term: str) -> bool:
        """Whether the documents write the term capitalised inside sentences, most times (a name)."""
        return _names(self._inside.get(term, 0), self._capitalised.get(term, 0))

    def known(self, term: str) -> bool:
        """Whether any chunk holds a (normalised) term."""
        return self._df.get(term, 0) > 0

    def holding(self, term: str) -> int:
        """How many chunks hold a (normalised) term."""
        return self._df.get(term, 0)

    def idf(self, term: str) -> float:
        """BM25 inverse document frequency of a normalised term."""
        return _idf(len(self._slot), self._df.get(term, 0))

    def total_length(self) -> int:
        """The terms of all chunks (for BM25's average chunk length)."""
        return self._total_length

    def seen_without(self, hidden: set[str]) -> LexicalIndex | VisibleTerms:
        """These statistics as a reader from whom the `hidden` documents are hidden sees them."""
        return VisibleTerms(self, hidden) if hidden else self

    def search(
        self,
        query: str,
        k: int,
        allowed: set[str] | None = None,
        seen: LexicalIndex | VisibleTerms | None = None,
    ) -> list[tuple[Chunk, float]]:
        """The k best chunks for a query by BM25, best first (optionally only `allowed` ids),
        scored with the statistics a reader sees (`seen`, see `seen_without`; by default all
        chunks'): for a reader from whom documents are hidden, the scores and the order are those
        of an index without them."""
        query_terms = sorted(set(terms(query)))  # a fixed order: float sums repeat exactly
        stats = seen or self
        with self._lock:
            if not self._slot or not query_terms:
                return []
            lengths = np.frombuffer(self._lengths, dtype=np.uint32).astype(np.float32)
            avg = stats.total_length() / max(1, len(stats))
            norm = self.k1 * (1 - self.b + self.b * lengths / max(avg, 1e-9))
            scores = np.zeros(len(self._chunks), dtype=np.float32)
            for term in query_terms:
                if term not in self._post_slots:
                    continue
                slots = np.frombuffer(self._post_slots[term], dtype=np.uint32)
                tfs = np.frombuffer(self._post_tfs[term], dtype=np.uint16).astype(np.float32)
                scores[slots] += stats.idf(term) * tfs * (self.k1 + 1) / (tfs + norm[slots])
            scores *= np.frombuffer(self._alive, dtype=np.uint8)
            candidates = np.nonzero(scores > 0)[0]
            if allowed is not None:
                keep = [s for s in candidates if (c := self._chunks[s]) is not None and c.chunk_id in allowed]
                candidates = np.asarray(keep, dtype=np.int64)
            if candidates.size == 0:
                return []
            top = candidates[np.argsort(-scores[candidates], kind="stable")[:k]]
            return [(c, float(scores[s])) for s in top if (c := self._chunks[s]) is not None]


class VisibleTerms:
    """A lexical index's term statistics without the chunks of some documents (those hidden from
    the reader, assistant/access.py): a word only they hold is unknown and no name, as if they
    were not there."""

    def __init__(self, index: LexicalIndex, hidden: set[str]) -> None:
        self.index = index
        self.hidden = hidden

    def _df(self, term: str) -> int:
        index = self.index
        with index._lock:
            hidden = sum(index._source_df.get(s, Counter()).get(term, 0) for s in self.hidden)
            return index._df.get(term, 0) - hidden

    def __len__(self) -> int:
        """How many chunks the reader may read."""
        index = self.index
        with index._lock:
            return len(index) - sum(index._source_chunks.get(s, 0) for s in self.hidden)

    def total_length(self) -> int:
        """The terms of the chunks the reader may read."""
        index = self.index
        with index._lock:
            return index._total_length - sum(index._source_length.get(s, 0) for s in self.hidden)

    def known(self, term: str) -> bool:
        """Whether a chunk the reader may read holds a (normalised) term."""
        return self._df(term) > 0

    def holding(self, term: str) -> int:
        """How many chunks the reader may read hold a (normalised) term."""
        return self._df(term)

    def idf(self, term: str) -> float:
        """BM25 inverse document frequency of a term among the chunks the reader may read."""
        return _idf(len(self), self._df(term))

    def in_source(self, source_id: str, term: str) -> bool:
        """Whether any chunk of a document holds a term (False for hidden documents)."""
        return source_id not in self.hidden and self.index.in_source(source_id, term)

    def is_name(self, term: str) -> bool:
        """Whether the documents the reader may read write the term capitalised inside
        sentences, most times."""
        index = self.index
        with index._lock:
            hidden = [index._restricted_names[s] for s in self.hidden if s in index._restricted_names]
            inside = index._inside.get(term, 0) - sum(h[0].get(term, 0) for h in hidden)
            capitalised = index._capitalised.get(term, 0) - sum(h[1].get(term, 0) for h in hidden)
        return _names(inside, capitalised)


def _idf(chunks: int, holding: int) -> float:
    """BM25 inverse document frequency of a term that `holding` of `chunks` chunks hold."""
    return math.log(1 + (chunks - holding + 0.5) / (holding + 0.5))


def _names(inside: int, capitalised: int) -> bool:
    """Whether a term written `inside` sentences so many times, `capitalised` of them, is a name."""
    return inside > 0 and capitalised * 2 > inside
