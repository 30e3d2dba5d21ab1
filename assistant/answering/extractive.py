"""The extractive answerer: no LLM, only sentences that stand in the passages.

Every sentence of the retrieved passages is scored for how well it answers the
question: meaning (embedding similarity to the question), the question's words it
contains (weighted by how rare they are in the corpus), and whether it holds the
kind of fact asked for (a date for "when", a number for "how many"). The best few,
not near-duplicates of each other, make the answer, each followed by its citation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.embedder import Embedder
from assistant.grounding import Claim
from assistant.lexical import terms
from assistant.retrieval import Passage
from assistant.text import fold, split_sentences

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|janv|févr|avr|mai|juin|juil|août|déc)[a-zé]*\.?"
_YEAR = r"\b(?:1[89]\d\d|20\d\d)\b"
# A date: a year, or a day next to a month name ("June 14", "14 June", "le 3 juin").
_DATE = re.compile(
    rf"{_YEAR}|\b{_MONTH}\s+\d\d?(?:\s*(?:and|to|[-–])\s*\d\d?)?\b|\b\d\d?(?:st|nd|rd|th)?\s+{_MONTH}",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"\b\d[\d,.]*\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty"
    r"|forty|fifty|dozens?|hundreds?|thousands?|millions?|billions?)\b",
    re.IGNORECASE,
)
_AMOUNT = re.compile(
    r"(?:usd|us\$|eur|chf|gbp|\$|€|£)\s?\d|\d\s?(?:usd|eur|chf|gbp|€|\$)|\b(?:dollars?|euros?|francs?)\b"
    r"|\d\s*(?:million|billion|mn|bn|m)\b",
    re.IGNORECASE,
)
_FIELD = re.compile(r"^([\w .’'()/-]{1,40}): \S")  # a "column: value" line of a record
# Keys of record and cover-page lines that name people and organisations ("Evaluators: ...").
_ROLE_KEYS = frozenset(
    terms("evaluator author lead led manager donor commissioned funded contact focal consultant firm partner")
)
_PROPER = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+")
# Kinds of fact whose absence from the chosen sentences is plain to see, as the notice names them.
_STATED = {"date": "a date", "amount": "an amount of money", "number": "a number"}


@dataclass(frozen=True)
class ScoredSentence:
    """A passage sentence and how well it answers the question."""

    text: str
    passage: int  # 0-based index into the passages
    position: int  # order within the passage
    score: float  # what ranks the sentences
    support: float  # how well it answers, without the bonus for an asked field


@dataclass(frozen=True)
class Selection:
    """The sentences chosen to answer, best first, and the confidence of the best."""

    sentences: list[ScoredSentence]
    confidence: float  # the highest support of any sentence: below the refusal threshold, refuse
    missing: str | None = None  # the kind of fact asked ("a date") that no chosen sentence states

    def claims(self) -> list[Claim]:
        """The chosen sentences as claims on their passages, for the grounding guard."""
        return [Claim(s.text, (s.passage,)) for s in self.sentences]


@dataclass(frozen=True)
class ExtractiveConfig:
    """Knobs of sentence selection."""

    passages: int = 6  # how many top passages to read
    max_sentences: int = 3
    embed_limit: int = 10  # embedded after the cheap first pass (6 to 16 score the same on the dev set)
    embed_words: int = 64  # the meaning of a long sentence is read from its first words
    relative_cut: float = 0.8  # other sentences must score this share of the best
    semantic_weight: float = 0.5
    duplicate_overlap: float = 0.6  # word overlap above which a sentence repeats another
    field_bonus: float = 0.3  # for a "key: value" line whose key is what the question asks


class ExtractiveAnswerer:
    """Chooses the passage sentences that best answer a question."""

    name = "extractive"

    def __init__(
        self, embedder: Embedder, idf: Callable[[str], float], config: ExtractiveConfig | None = None
    ) -> None:
        self.embedder = embedder
        self.idf = idf
        self.config = config or ExtractiveConfig()

    def select(self, question: str, passages: Sequence[Passage], query_vector: np.ndarray) -> Selection:
        """Score every sentence of the top passages and keep the best few."""
        cfg = self.config
        candidates: list[tuple[str, int, int]] = []
        for p, passage in enumerate(passages[: cfg.passages]):
            for position, sentence in enumerate(split_sentences(passage.chunk.text)):
                shortest = 2 if _FIELD.match(sentence) else 4  # "Project Code: CE.0307" is an answer
                if shortest <= len(sentence.split()) <= 90:
                    candidates.append((sentence, p, position))
        if not candidates:
            return Selection([], 0.0)

        wanted = _wanted_kind(question)
        question_terms = set(terms(question))
        weights = {t: self.idf(t) for t in question_terms}
        total = sum(weights.values()) or 1.0
        w = cfg.semantic_weight

        def lexical(sentence: str) -> float:
            words = set(terms(sentence))
            found = sum(weights[t] for t in words & question_terms) / total
            # A sentence that only repeats the question (a title, a heading) answers nothing.
            return found - (0.3 if len(words - question_terms) < 0.25 * len(words) else 0.0)

        def asked_field(sentence: str) -> float:
            """A "Budget: 37.741 USD" line answers "what was the budget" outright: every word of
            its key is in the question (or it names a role, for "who"). This picks the line
            among the passages; it does not say whether the documents answer (the confidence)."""
            field = _FIELD.match(sentence)
            if field:
                key = set(terms(field.group(1)))
                if (key and key <= question_terms) or (wanted == "name" and key & _ROLE_KEYS):
                    return cfg.field_bonus
            return 0.0

        # A cheap first pass (words, plus the passage's own similarity standing in for the
        # sentence's) keeps the few sentences worth embedding: latency stays flat however
        # long the passages are.
        rough = []
        for sentence, p, position in candidates:
            words = lexical(sentence)
            prior = w * passages[p].score + (1 - w) * words + _kind_bonus(wanted, sentence, question)
            rough.append((prior, words, sentence, p, position))
        rough.sort(key=lambda r: -r[0])
        shortlist = rough[: cfg.embed_limit]
        fields = [r for r in rough[cfg.embed_limit :] if asked_field(r[2])]
        shortlist += fields[: cfg.embed_limit // 4]  # asked fields get a look of their own
        vectors = self.embedder.embed([" ".join(r[2].split()[: cfg.embed_words]) for r in shortlist])
        meaning = vectors @ query_vector

        scored: list[ScoredSentence] = []
        for (_, words, sentence, p, position), sim in zip(shortlist, meaning, strict=True):
            support = w * float(sim) + (1 - w) * words + _kind_bonus(wanted, sentence, question)
            support += 0.02 / (1 + p)  # retrieval order breaks ties
            score = support + asked_field(sentence)
            scored.append(ScoredSentence(sentence, p, position, round(score, 4), round(support, 4)))

        scored.sort(key=lambda s: -s.score)
        best = scored[0]
        chosen = [best]
        for candidate in scored[1:]:
            if len(chosen) == cfg.max_sentences or candidate.score < cfg.relative_cut * best.score:
                break
            if any(_overlap(candidate.text, c.text) > cfg.duplicate_overlap for c in chosen):
                continue
            chosen.append(candidate)
        rest = sorted(chosen[1:], key=lambda s: (s.passage, s.position))
        missing = None
        if wanted in _STATED and not any(_holds(wanted, s.text, question) for s in chosen):
            missing = _STATED[wanted]
        return Selection([best, *rest], max(s.support for s in scored), missing)


def _wanted_kind(question: str) -> str | None:
    """The kind of fact a question asks for: date, amount (of money), number or name."""
    q = fold(question).strip()
    # "when" asks for a date at the head of a question, not in "... include when using X"
    if re.search(
        r"^(?:and |but |so )?when\b|\bwhen (?:did|was|were|is|are|will|does|do|has|have|had)\b", q
    ) or re.search(r"\b(what year|which year|what date|since when|quand|cuando|cuándo|kur)\b", q):
        return "date"
    if re.search(r"\b(budget|cost|costs|spent|spend|funding amount|how much money|montant|presupuesto)\b", q):
        return "amount"
    if re.search(r"\b(how many|how much|number of|what percentage|combien|cuantos|cuantas|sa)\b", q):
        return "number"
    if re.search(r"\b(who|whom|qui|quien|quién|kush)\b", q):
        return "name"
    if re.search(r"\b(where|ou|dónde|donde|ku)\b", q):
        return "name"
    return None


def _holds(kind: str | None, sentence: str, question: str) -> bool:
    """Whether a sentence holds a fact of the kind asked, other than the question's own."""
    if kind == "name":
        return bool(_PROPER.search(sentence))
    if kind == "amount":
        return bool(_AMOUNT.search(sentence))
    if kind == "date":
        return bool(set(_DATE.findall(sentence)) - set(_DATE.findall(question)))
    if kind == "number":  # a count: a number that is not a date or a year, nor in the question
        numbers = set(_NUMBER.findall(_DATE.sub(" ", sentence)))
        return bool(numbers - set(_NUMBER.findall(question)))
    return False


def _kind_bonus(wanted: str | None, sentence: str, question: str) -> float:
    if not _holds(wanted, sentence, question):
        return 0.0
    return {"date": 0.08, "amount": 0.08, "number": 0.06, "name": 0.03}.get(wanted or "", 0.0)


def _overlap(a: str, b: str) -> float:
    wa, wb = set(terms(a)), set(terms(b))
    return len(wa & wb) / (min(len(wa), len(wb)) or 1)
