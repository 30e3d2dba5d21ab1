"""The extractive answerer: no LLM, only sentences that stand in the passages.

Every sentence of the retrieved passages is scored for how well it answers the question
(`SENTENCE_WEIGHTS`): meaning (embedding similarity to the question), the question's words it
contains (weighted by how rare they are; a follow-up's own words weigh as much as the earlier
question's), whether it holds the kind of fact asked (a date for
"when", a number for "how many"), whether it is the record field the question names, and its
passage's rank. The best few, not near-duplicates of each other, make the answer, each with its
citation. Whether any of them answers is `decision`'s to say. About 350 lines: scoring the
sentences and choosing among them, for a question and for each part of it, read one set of
candidates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answering.agreement import (
    TermStatistics,
    disagreeing,
    missing_entities,
    off_document,
    question_entities,
    term_variants,
    unknown_entities,
)
from assistant.answering.decision import Evidence, refusal_reason, word_coverage
from assistant.answering.facts import (
    ASKS_LINK,
    asked_parts,
    asks_something,
    holds,
    must_state,
    only_addresses,
    person_name,
    wanted_kind,
)
from assistant.answering.numbers import asks_percentage, counted_words, counts_asked
from assistant.crosslingual import Gloss
from assistant.embedder import Embedder
from assistant.grounding import Claim
from assistant.lexical import overlap, terms
from assistant.retrieval import Passage
from assistant.text import STOPWORDS, fold, split_sentences, words

_FIELD = re.compile(r"^([\w .’'()/-]{1,40}): \S")  # a "column: value" line of a record
# A record's title line says what the record is about, which the question already names: it
# answers only a question asking for a title.
_TITLE_LINE = re.compile(r"(?:title|titre|t[ií]tulo|titulli) ?:", re.IGNORECASE)
_ASKS_TITLE = re.compile(r"\b(?:title|titre|titulo|titull\w*)\b")  # folded
# Keys of record and cover-page lines that name people and organisations ("Evaluators: ...").
_ROLE_KEYS = frozenset(
    terms("evaluator author lead led manager donor commissioned funded contact focal consultant firm partner")
)
# How a sentence is scored: a weighted sum of what is read of it. The weights were set by hand in
# earlier stops. A logistic model fitted on the tuning part (sentences labelled by whether they
# state a short answer) ranked worse on the frozen test part: key-fact recall 0.37 against 0.49,
# 52 right answers against 66. Refitted on the 480-question set's tuning part (12,744 candidate
# sentences of 325 questions) it put a sentence stating the answer first more often (test part:
# 0.53 of questions against 0.48) but answered worse end to end: test 105 -> 93 right, key-fact
# recall 0.573 -> 0.537 (0.508, 96 right, with the decision refitted to its supports). So these
# stay, named here.
SENTENCE_WEIGHTS = {
    "meaning": 0.5,  # similarity of meaning to the question
    "words": 0.5,  # IDF-weighted share of the question's words it holds
    "echoes_question": -0.15,  # a title or heading that only repeats the question answers nothing
    "holds_kind": 0.06,  # it holds the kind of fact asked (a date for "when" ...)
    "asked_field": 0.3,  # a "Budget: 37.741 USD" line when the question asks for the budget
    "passage_rank": 0.02,  # 1 / (1 + rank of its passage): retrieval order breaks ties
}


@dataclass(frozen=True)
class ScoredSentence:
    """A passage sentence and how likely it is to state the answer."""

    text: str
    passage: int  # 0-based index into the passages
    position: int  # order within the passage
    support: float  # its score squashed to 0..1 (a logistic of the weighted sum)
    meaning: float = 0.0  # similarity of meaning to the question

    @classmethod
    def of(cls, candidate: Candidate) -> ScoredSentence:
        """A candidate read in full: its score squashed to a support."""
        c = candidate
        return cls(
            c.text, c.passage, c.position, round(_squash(c.score()), 4), round(c.features["meaning"], 4)
        )


@dataclass(frozen=True)
class Selection:
    """The sentences chosen to answer, best first, and what the decision reads about them.

    `answers` is False when no sentence both states the kind of fact asked and agrees with the
    question's entities; `sentences` are then the closest ones, and `reason` says what is missing.
    """

    sentences: list[ScoredSentence]
    answers: bool = False
    reason: str | None = None
    evidence: Evidence | None = None

    def claims(self) -> list[Claim]:
        """The chosen sentences as claims on their passages, for the grounding guard."""
        return [Claim(s.text, (s.passage,)) for s in self.sentences]


@dataclass(frozen=True)
class ReaderConfig:
    """Knobs of sentence selection: cost and length (the scoring is SENTENCE_WEIGHTS)."""

    passages: int = 6  # how many top passages to read
    max_sentences: int = 3
    embed_limit: int = 10  # embedded after the cheap first pass (6: tune +2 right, test +4 false refusals)
    embed_words: int = 64  # the meaning of a long sentence is read from its first words
    relative_cut: float = 0.8  # other sentences must reach this share of the best one's support
    duplicate_overlap: float = 0.6  # word overlap above which a sentence repeats another


@dataclass(frozen=True)
class Candidate:
    """A passage sentence worth reading, with the features it is scored on (SENTENCE_WEIGHTS)."""

    text: str
    passage: int
    position: int
    features: dict[str, float]

    def score(self) -> float:
        """The weighted sum of the features (SENTENCE_WEIGHTS)."""
        return sum(weight * self.features[name] for name, weight in SENTENCE_WEIGHTS.items())


def _share(weights: dict[str, float], held: set[str], of: set[str]) -> float:
    """The IDF-weighted share of the words `of` that a sentence holds (fsum: the same whatever
    the set order)."""
    return math.fsum(weights[t] for t in held & of) / (math.fsum(weights[t] for t in of) or 1.0)


def _glossed(text: str, gloss: Gloss | None) -> str:
    """Words of the question with the document words that gloss them ("financió funded")."""
    english = [t for w in words(text) for t in (gloss.translations(w) if gloss is not None else [])]
    return " ".join([text, *english])


class SentenceReader:
    """Chooses the passage sentences that best answer a question."""

    def __init__(self, embedder: Embedder, stats: TermStatistics, config: ReaderConfig | None = None) -> None:
        self.embedder = embedder
        self.stats = stats
        self.config = config or ReaderConfig()

    def _candidates(
        self, question: str, passages: Sequence[Passage], wanted: str | None, own: str | None = None
    ) -> list[Candidate]:
        """Every sentence of the top passages with its features (`wanted`: the kind of fact asked);
        the passage's own similarity stands in for each sentence's meaning until it is read."""
        cfg = self.config
        question_terms = set(terms(question))
        weights = {t: self.stats.idf(t) for t in question_terms}
        # A follow-up's own words (`own`, with their glosses) weigh as much as the whole
        # conversation's: "Who funded them?" after a question on a meeting reads "funded".
        shares_of = [question_terms, *([set(terms(own)) & question_terms] if own else [])]
        found: list[Candidate] = []
        asks_link = bool(ASKS_LINK.search(question))
        rare_name = person_name(self.stats)
        for p, passage in enumerate(passages[: cfg.passages]):
            for position, sentence in enumerate(split_sentences(passage.chunk.text)):
                if not asks_link and only_addresses(sentence):
                    continue
                field = _FIELD.match(sentence)
                shortest = 2 if field else 4  # "Project Code: CE.0307" is an answer
                if not shortest <= len(sentence.split()) <= 90:
                    continue
                held = set(terms(sentence))
                key = set(terms(field.group(1))) if field else set()
                # the field the question names: it holds half the weight (IDF) of the field's
                # name or more ("what period" names "Evaluation Period From Date")
                named = math.fsum(weights[t] for t in key & question_terms) >= 0.5 * math.fsum(
                    self.stats.idf(t) for t in key
                )
                asked = bool(key) and (named or (wanted == "name" and bool(key & _ROLE_KEYS)))
                features = {
                    "meaning": passage.score,
                    "words": sum(_share(weights, held, of) for of in shares_of) / len(shares_of),
                    # a title or a heading that only repeats the question answers nothing
                    "echoes_question": float(len(held - question_terms) < 0.25 * len(held)),
                    "holds_kind": float(holds(wanted, sentence, question, rare_name)),
                    "asked_field": float(asked),
                    "passage_rank": 1.0 / (1 + p),
                }
                found.append(Candidate(sentence, p, position, features))
        return found

    def _read_meaning(self, candidates: Sequence[Candidate], query_vector: np.ndarray) -> None:
        limit = self.config.embed_words
        vectors = self.embedder.embed([" ".join(c.text.split()[:limit]) for c in candidates])
        for candidate, similarity in zip(candidates, vectors @ query_vector, strict=True):
            candidate.features["meaning"] = float(similarity)

    def select(
        self,
        question: str,
        passages: Sequence[Passage],
        query_vector: np.ndarray,
        gloss: Gloss | None = None,
        *,
        asked: str | None = None,
        follow_up: bool = False,
        stats: TermStatistics | None = None,
    ) -> Selection:
        """Score the sentences of the top passages and keep the best few.

        `question` is what is searched (with any glosses); `gloss` holds the question as made
        standalone; `asked` the user's own words, which say the kind of fact asked; `follow_up`
        whether they were made standalone from the conversation; `stats` the
        words of the documents as the reader sees them (by default, of all documents): what
        "no document mentions" means.
        A cheap first pass (the passage's similarity standing in for each sentence's meaning)
        keeps the few sentences worth embedding, so latency stays flat however long the passages.
        """
        cfg = self.config
        own = asked or question
        # "And in 2024?" asks what the earlier question asked
        wanted = wanted_kind(question if follow_up and not asks_something(own) else own)
        found = self._candidates(question, passages, wanted, own=_glossed(own, gloss) if follow_up else None)
        if not found:
            return Selection([])
        found.sort(key=lambda c: -c.score())
        shortlist = found[: cfg.embed_limit]
        fields = [c for c in found[cfg.embed_limit :] if c.features["asked_field"]]
        shortlist += fields[: cfg.embed_limit // 4]  # asked fields get a look of their own
        self._read_meaning(shortlist, query_vector)
        scored = sorted(map(ScoredSentence.of, shortlist), key=lambda s: -s.support)

        stats = stats or self.stats
        standalone = gloss.question if gloss is not None else question
        entities = question_entities(standalone, gloss, stats)
        unknown = unknown_entities(entities, gloss, stats)
        read = passages[: cfg.passages]
        gaps = [disagreeing(entities, p.chunk, gloss, stats) for p in read]

        rare_name = person_name(stats)
        # A standalone count question asking one thing is answered by a number standing next to
        # one of its words ("a total of 1,433 calls"), not by any number of an agreeing passage;
        # by a percentage when it asks for one, else by no percentage.
        counted: set[str] = set()
        share = asks_percentage(own)
        if not follow_up and len(asked_parts(own)) == 1:
            counted = {v for w in counted_words(own) for v in term_variants(w, gloss) if stats.known(v)}

        def holding(kind: str | None, sentence: str) -> bool:
            if not must_state(kind):
                return True
            if not holds(kind, sentence, question, rare_name):
                return False
            return kind != "number" or not counted or counts_asked(sentence, counted, share)

        asks_title = bool(_ASKS_TITLE.search(fold(own)))

        def answers(s: ScoredSentence) -> bool:
            if (not asks_title and _TITLE_LINE.match(s.text)) or s.text.rstrip().endswith("?"):
                return False  # a record's title, or a question ("3.2 How adequate are ...?")
            return not gaps[s.passage] and holding(wanted, s.text)

        unread = gloss.unread if gloss is not None and gloss.mostly_unread else ()
        answering = [s for s in scored if answers(s)] if not (unknown or unread) else []
        best = answering[0] if answering else scored[0]
        chosen = [best]
        # A question asking several things gets the best sentence for each besides, from the
        # passages of the best one's document that agree with the question.
        source = read[best.passage].chunk.source_id
        usable = {i for i, p in enumerate(read) if not gaps[i] and p.chunk.source_id == source}
        parts = asked_parts(asked or question) if answering else []
        for part in parts[: cfg.max_sentences] if len(parts) > 1 else ():
            answer = self._part_answer(part, passages, usable=usable, gloss=gloss, holds_kind=holding)
            if answer and all(overlap(answer.text, c.text) <= cfg.duplicate_overlap for c in chosen):
                chosen.append(answer)
        answered = " ".join(s.text for s in chosen)  # the best sentence and the parts' own
        kept = cfg.max_sentences + len(chosen) - 1
        for candidate in (answering or scored)[1:]:
            if len(chosen) >= kept or candidate.support < cfg.relative_cut * best.support:
                break
            if any(overlap(candidate.text, c.text) > cfg.duplicate_overlap for c in chosen):
                continue
            chosen.append(candidate)
        rest = sorted(chosen[1:], key=lambda s: (s.passage, s.position))
        # How much of the question a passage covers is read in English when a language model
        # rendered the question (the decision model was fitted on questions the documents' words
        # cover); the entities stay the user's own.
        covered = gloss.english if gloss is not None and gloss.english else standalone
        question_words = list(dict.fromkeys(w for w in words(covered) if w not in STOPWORDS))
        best_chunk = read[best.passage].chunk
        coverage, _ = word_coverage(question_words, best_chunk.searchable_text(), stats, gloss)
        # A data record's lines state one fact together ("Number Dead: 2" is about the row's place
        # and date): a record is read as a whole for how much of the question it covers and means.
        record = best_chunk.is_record
        in_sentence = coverage if record else word_coverage(question_words, answered, stats, gloss)[0]
        all_read = " ".join(p.chunk.searchable_text() for p in read)
        _, rarest = word_coverage(question_words, all_read, stats, gloss)
        off_passage = missing_entities(entities, best_chunk.searchable_text(), gloss)
        evidence = Evidence(
            support=best.support,
            meaning=read[best.passage].score if record else best.meaning,
            sentence_coverage=in_sentence,
            passage_coverage=coverage,
            missing_rare=rarest,
            retrieval=passages[0].score,
            asks_kind=1.0 if must_state(wanted) else 0.0,
            off_passage=len(off_passage) / len(entities) if entities else 0.0,
            off_document=off_document(entities, best_chunk.source_id, gloss, stats),
        )
        return Selection(
            [best, *rest],
            answers=bool(answering),
            reason=None if answering else refusal_reason(wanted, unknown, gaps[best.passage], unread),
            evidence=evidence,
        )

    def _part_answer(
        self,
        part: str,
        passages: Sequence[Passage],
        *,
        usable: set[int],
        gloss: Gloss | None,
        holds_kind: Callable[[str | None, str], bool],
    ) -> ScoredSentence | None:
        """The sentence of the `usable` passages that best answers one part of a question asking
        several things ("..., and who led its case study?"): one holding the kind of fact the part
        asks and some of its words (or their English), best by the same score."""
        searched, wanted = _glossed(part, gloss), wanted_kind(part)
        found = [
            c
            for c in self._candidates(searched, passages, wanted)
            if c.passage in usable and c.features["words"] > 0 and holds_kind(wanted, c.text)
        ]
        shortlist = sorted(found, key=lambda c: -c.score())[: self.config.embed_limit // 2]
        if not shortlist:
            return None
        self._read_meaning(shortlist, self.embedder.embed([searched])[0])
        return ScoredSentence.of(max(shortlist, key=lambda c: c.score()))


def _squash(score: float) -> float:
    return 1.0 / (1.0 + math.exp(-score))
