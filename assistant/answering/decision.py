"""Whether the documents answer a question: the one home of the refusal rule.

A question is read when it has a function word of English, French or Spanish or a word a
glossary lists, or when more than half of its words are the documents' own or glossed by meaning
(`Gloss.mostly_unread`): a question in a language nothing here translates is refused, not
answered with whatever its words' spelling neighbours find. Then a sentence is offered as the
answer only when
1. it states the kind of fact the question asks for, when that is a date, a number or an
   amount of money (`facts.wanted_kind`, `facts.holds`);
2. its passage agrees with the question's specific entities: every name, acronym, year and
   number the question gives stands in the passage (text, title or heading) or its document's
   file name, itself or, for a question in another language, one of its glosses. A line about
   another country, office or year is never the answer (`agreement.py`);
3. a logistic model over the features of `Evidence`, fitted on the tuning part of the
   development set (`python -m evaluation.fit_decision`, stored in `decision.json`), gives a
   probability that the documents answer at or above its threshold: the highest threshold whose
   cross-validated false refusals on the tuning part stay at or under 10%.
Otherwise the reply says plainly what the documents do not state, with `refused: true`, and
the closest passages are listed as sources to check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answering.agreement import TermStatistics, term_variants
from assistant.answering.facts import STATED
from assistant.answering.fitted import DECISION, LogisticModel, load_model
from assistant.crosslingual import Gloss
from assistant.lexical import terms
from assistant.notices import service_text


@dataclass(frozen=True)
class Evidence:
    """What the decision model reads about the best answering sentence and the passages."""

    support: float  # the reader's score of the best sentence that answers
    meaning: float  # its similarity of meaning to the question (a data record's: the record's)
    sentence_coverage: float  # IDF-weighted share of the question's words in the answer's
    # sentences (a data record's: in the whole record, whose lines state one fact together)
    passage_coverage: float  # ... in its passage
    missing_rare: float  # the rarest question word found in no top passage (IDF, 0..1)
    retrieval: float  # similarity of the question and the first passage
    asks_kind: float  # 1 when the question asks for a date, a number or an amount
    off_passage: float  # share of the question's entities that its passage does not hold
    off_document: float  # ... that the passage's whole document does not hold

    def vector(self) -> list[float]:
        """The features in the order of `Evidence.names()`."""
        return [getattr(self, name) for name in self.names()]

    @staticmethod
    def names() -> tuple[str, ...]:
        """Feature names, the order of the model's weights."""
        return (
            "support",
            "meaning",
            "sentence_coverage",
            "passage_coverage",
            "missing_rare",
            "retrieval",
            "asks_kind",
            "off_passage",
            "off_document",
        )


def word_coverage(
    question_words: Sequence[str], text: str, stats: TermStatistics, gloss: Gloss | None = None
) -> tuple[float, float]:
    """IDF-weighted share of the question's words found in a text (a word counts as found when
    one of its glosses is), and the IDF of the rarest word not found, scaled to 0..1. Words no
    document holds (another language's words without a gloss) are not counted."""
    present = set(terms(text))
    total = found = 0.0
    rarest = top = 0.0
    for word in question_words:
        variants = {v for v in term_variants(word, gloss) if stats.known(v)}
        if not variants:
            continue
        weight = max(stats.idf(v) for v in variants)
        top = max(top, weight)
        total += weight
        if variants & present:
            found += weight
        else:
            rarest = max(rarest, weight)
    return (found / total if total else 0.0), (rarest / top if top else 0.0)


def load_decision_model() -> LogisticModel:
    """The fitted answer-or-refuse model (`decision.json`)."""
    return load_model(DECISION, Evidence.names())


def decide(answers: bool, evidence: Evidence | None, model: LogisticModel) -> bool:
    """Answer (True) or refuse: a sentence must answer (rules 1 and 2) and the fitted probability
    that the documents answer must reach the model's threshold (rule 3)."""
    return answers and evidence is not None and model.probability(evidence.vector()) >= model.threshold


def refusal_reason(
    kind: str | None,
    unknown: Sequence[str] = (),
    disagreeing: Sequence[str] = (),
    unread: Sequence[str] = (),
) -> str:
    """What the documents do not state, in a sentence for the reply: the question's words that
    nothing here reads, entities no document holds, entities the closest passages do not hold, or
    the kind of fact asked."""
    if unread:
        return service_text("reason.unread", entities=_quoted(unread))
    if unknown:
        return service_text("reason.unknown", entities=_quoted(unknown))
    if disagreeing:
        return service_text("reason.disagreeing", entities=_quoted(disagreeing))
    if kind in STATED:
        return service_text(f"reason.{kind}")
    return service_text("reason.none")


def _quoted(entities: Sequence[str]) -> str:
    return ", ".join(f"“{e}”" for e in entities[:3])
