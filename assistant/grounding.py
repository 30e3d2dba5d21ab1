"""The grounding guard: every answer sentence must be backed by the passage it cites.

Support of a sentence by a passage is judged locally, without an LLM:
- every number and every name in the sentence must occur in the passage;
- most of its content words must occur there (lexical coverage), or enough of them
  together with a high embedding similarity to one of the passage's sentences.

After any provider answers, each sentence keeps the citations that support it, is
re-cited to another retrieved passage that does, or is removed. Citation numbers
that match no passage are dropped. The same check scores grounding in evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.citations import MARKERS_AFTER_STOP, cited_numbers, strip_markers
from assistant.embedder import Embedder
from assistant.lexical import covered, terms
from assistant.text import fold, split_sentences, strip_bullet

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(r"\b[A-ZÀ-ÖØ-Þ][\w'’\-]*[A-Za-zÀ-ÿ]")
_ORDINAL = re.compile(r"(\d)(?:st|nd|rd|th)\b", re.IGNORECASE)

# A sentence is supported when these hold (calibrated on the development set).
MIN_COVERAGE = 0.6  # share of content words found in the passage, alone
MIN_COVERAGE_WITH_MEANING = 0.34  # ... or this share plus a close sentence by meaning
MIN_SIMILARITY = 0.6


@dataclass(frozen=True)
class Claim:
    """One sentence of an answer and the passages (0-based) it says it comes from."""

    text: str
    passages: tuple[int, ...]


@dataclass(frozen=True)
class Support:
    """How well a passage backs a sentence."""

    supported: bool
    score: float  # 0..1
    quote: str  # the passage sentence that backs it best


@dataclass
class GroundedClaim:
    """A sentence that survived the guard, with the passages that support it."""

    text: str
    passages: tuple[int, ...]
    quotes: dict[int, str]
    support: float


@dataclass
class GroundingReport:
    """What the guard kept and what it did to get there."""

    claims: list[GroundedClaim] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    recited: int = 0
    invalid_citations: int = 0


def parse_claims(answer: str, n_passages: int) -> tuple[list[Claim], int]:
    """Split a provider's text into sentences with 0-based passage indices.

    Returns the claims and the number of citation markers that match no passage. A question
    (a model echoing what it was asked) states nothing and is no claim.
    """
    text = MARKERS_AFTER_STOP.sub(lambda m: f"{m.group(2)}{m.group(1)}", answer)
    claims: list[Claim] = []
    invalid = 0
    for sentence in split_sentences(text):
        cited: list[int] = []
        for n in cited_numbers(sentence):
            if 1 <= n <= n_passages:
                cited.append(n - 1)
            else:
                invalid += 1
        clean = strip_markers(sentence).strip()
        clean = re.sub(r"\s+([.,;:!?])", r"\1", clean)
        if len(terms(clean)) == 0 or clean.endswith("?"):
            continue
        claims.append(Claim(clean, tuple(dict.fromkeys(cited))))
    return claims, invalid


def _numbers(text: str) -> set[str]:
    text = _ORDINAL.sub(r"\1", text)
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


def _names(sentence: str) -> set[str]:
    """Capitalised words other than the first word: names, places, months."""
    body = strip_bullet(sentence)
    first = body.split(maxsplit=1)[0] if body.split() else ""
    found = set()
    for match in _NAME.finditer(body):
        word = match.group(0)
        if match.start() == 0 or word == first:
            continue
        found.add(fold(word).strip("'’-"))
    return {w for w in found if w and set(terms(w))}


class GroundingGuard:
    """Checks sentences against passages. Uses the embedder only when words alone do not decide."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def support(self, sentence: str, passage: str, similarity: float | None = None) -> Support:
        """Whether `passage` backs `sentence`, judged on words (and meaning when given)."""
        sentences = split_sentences(passage) or [passage]
        folded_passage = " ".join(fold(passage).split())
        folded_sentence = " ".join(fold(sentence).split()).rstrip(".")
        best = max(sentences, key=lambda s: covered(sentence, s))
        if folded_sentence and folded_sentence in folded_passage:
            return Support(True, 1.0, _containing(sentences, sentence) or best)
        passage_words = set(terms(passage))
        passage_numbers = _numbers(passage)
        claim_words = set(terms(sentence))
        if not claim_words:
            return Support(False, 0.0, best)
        coverage = covered(sentence, passage)
        numbers_ok = _numbers(sentence) <= passage_numbers
        names_ok = all(any(t in passage_words for t in terms(name)) for name in _names(sentence))
        meaning = similarity if similarity is not None else 0.0
        supported = (
            numbers_ok
            and names_ok
            and (
                coverage >= MIN_COVERAGE
                or (coverage >= MIN_COVERAGE_WITH_MEANING and meaning >= MIN_SIMILARITY)
            )
        )
        score = 0.5 * coverage + 0.5 * max(meaning, 0.0) if numbers_ok and names_ok else 0.25 * coverage
        return Support(supported, round(float(score), 4), best)

    def backed(self, claim: Claim, passages: Sequence[str]) -> bool:
        """Whether a passage the claim cites backs it, by words or, failing that, by meaning:
        the rule `check` applies before it re-cites or removes a sentence."""
        cited = [passages[p] for p in claim.passages if p < len(passages) and passages[p]]
        if any(self.support(claim.text, passage).supported for passage in cited):
            return True
        if not cited:
            return False
        similarity = self._similarities([claim.text], cited)[0]
        return any(
            self.support(claim.text, passage, float(s)).supported
            for passage, s in zip(cited, similarity, strict=True)
        )

    def check(self, claims: Sequence[Claim], passages: Sequence[str], invalid: int = 0) -> GroundingReport:
        """Keep, re-cite or remove each claim; see the module docstring."""
        report = GroundingReport(invalid_citations=invalid)
        if not claims:
            return report
        # Words decide most sentences (every extractive one); meaning is computed only when they do not.
        undecided = [
            i
            for i, claim in enumerate(claims)
            if not any(self.support(claim.text, passages[p]).supported for p in claim.passages)
        ]
        similarity = np.zeros((len(claims), len(passages)), dtype=np.float32)
        if undecided:
            similarity[undecided] = self._similarities([claims[i].text for i in undecided], passages)
        for i, claim in enumerate(claims):
            supports = {p: self.support(claim.text, passages[p], similarity[i, p]) for p in claim.passages}
            kept = {p: s for p, s in supports.items() if s.supported}
            if not kept:
                candidates = {
                    p: self.support(claim.text, passages[p], similarity[i, p]) for p in range(len(passages))
                }
                good = {p: s for p, s in candidates.items() if s.supported}
                if good:
                    best = max(good, key=lambda p: good[p].score)
                    kept = {best: good[best]}
                    report.recited += 1
            if not kept:
                report.removed.append(claim.text)
                continue
            report.claims.append(
                GroundedClaim(
                    text=claim.text,
                    passages=tuple(kept),
                    quotes={p: s.quote for p, s in kept.items()},
                    support=max(s.score for s in kept.values()),
                )
            )
        return report

    def _similarities(self, sentences: Sequence[str], passages: Sequence[str]) -> np.ndarray:
        """Best cosine between each sentence and any sentence of each passage."""
        out = np.zeros((len(sentences), len(passages)), dtype=np.float32)
        pieces: list[str] = []
        owner: list[int] = []
        for p, passage in enumerate(passages):
            for s in split_sentences(passage) or [passage]:
                pieces.append(s)
                owner.append(p)
        if not pieces or not sentences:
            return out
        vectors = self.embedder.embed(list(sentences) + pieces)
        claim_vecs, piece_vecs = vectors[: len(sentences)], vectors[len(sentences) :]
        sims = claim_vecs @ piece_vecs.T
        owners = np.asarray(owner)
        for p in range(len(passages)):
            mask = owners == p
            if mask.any():
                out[:, p] = sims[:, mask].max(axis=1)
        return out


def _containing(sentences: Sequence[str], claim: str) -> str | None:
    folded = " ".join(fold(claim).split()).rstrip(".")
    for s in sentences:
        if folded in " ".join(fold(s).split()):
            return s
    return None
