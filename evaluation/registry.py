"""The metrics of an evaluation run, named once: what each is computed over, which way is better,
and how much it may worsen before the gate fails. The scorer, the gate, the CSV and the report
read this table; a metric that is not in it cannot be written to metrics.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Over = Literal["count", "answerable", "unanswerable", "sentences", "citations", "answers"]


@dataclass(frozen=True)
class Metric:
    """One key of metrics.json."""

    key: str
    over: Over  # what it is a share of, or "count"/"answers" (latencies) for the rest
    per_question: bool = False  # averaged from each answerable question's own score
    higher_is_better: bool = True
    allowed_change: float | None = None  # None: reported, not gated
    headline: bool = False  # shown in the terminal summary and, but for latencies, the group tables


METRICS: tuple[Metric, ...] = (
    Metric("n_questions", "count"),
    Metric("n_answerable", "count"),
    Metric("n_unanswerable", "count"),
    Metric("hit@1", "answerable", per_question=True, allowed_change=0.05, headline=True),
    Metric("hit@5", "answerable", per_question=True, allowed_change=0.03),
    Metric("hit@10", "answerable", per_question=True, allowed_change=0.03),
    Metric("recall@5", "answerable", per_question=True, allowed_change=0.03),
    Metric("mrr@10", "answerable", per_question=True, allowed_change=0.04),
    Metric("ndcg@10", "answerable", per_question=True, allowed_change=0.04),
    Metric("evidence_recall@5", "answerable", per_question=True, allowed_change=0.03, headline=True),
    Metric("key_fact_recall", "answerable", per_question=True, allowed_change=0.03, headline=True),
    Metric("token_f1", "answerable", per_question=True, allowed_change=0.03),
    Metric("semantic_similarity", "answerable", per_question=True, allowed_change=0.03),
    Metric("grounded_sentence_rate", "sentences", allowed_change=0.02),
    Metric("citation_precision", "answerable", per_question=True, allowed_change=0.05, headline=True),
    Metric("citation_recall", "answerable", per_question=True, allowed_change=0.05),
    # counted per citation marker: strict, one question's worth is not forgiven
    Metric("invalid_citation_rate", "citations", higher_is_better=False, allowed_change=0.01),
    Metric("correct_refusal_rate", "unanswerable", allowed_change=0.05, headline=True),
    Metric("false_refusal_rate", "answerable", higher_is_better=False, allowed_change=0.05, headline=True),
    # latency depends on the machine: reported, not gated
    Metric("latency_ms_p50", "answers", higher_is_better=False, headline=True),
    Metric("latency_ms_p95", "answers", higher_is_better=False),
    Metric("judge_faithfulness", "answerable", per_question=True),
    Metric("judge_correctness", "answerable", per_question=True),
)

BY_KEY = {m.key: m for m in METRICS}
METRIC_KEYS = tuple(m.key for m in METRICS)
# The scores each answerable question gets (the CSV's columns); the judge's only with a judge.
QUESTION_SCORES = tuple(m.key for m in METRICS if m.per_question and not m.key.startswith("judge_"))
GATED = tuple(m for m in METRICS if m.allowed_change is not None)
# The rows of the terminal summary of a run.
HEADLINE = tuple(m.key for m in METRICS if m.headline)
# The columns of the per-language and per-tag tables: the headline shares (latency is the run's).
GROUP_HEADLINE = tuple(m.key for m in METRICS if m.headline and m.over != "answers")
