"""The regression gate: compare a run with a saved baseline, metric by metric."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# How much each metric may get worse before the gate fails (absolute, on 0..1 scales).
ALLOWED_DROP: dict[str, float] = {
    "hit@1": 0.05,
    "hit@5": 0.03,
    "hit@10": 0.03,
    "recall@5": 0.03,
    "mrr@10": 0.04,
    "ndcg@10": 0.04,
    "evidence_recall@5": 0.03,
    "key_fact_recall": 0.03,
    "token_f1": 0.03,
    "semantic_similarity": 0.03,
    "grounded_sentence_rate": 0.02,
    "citation_precision": 0.05,
    "citation_recall": 0.05,
    "correct_refusal_rate": 0.05,
}
# Metrics where higher is worse, with the rise allowed.
ALLOWED_RISE: dict[str, float] = {"invalid_citation_rate": 0.01, "false_refusal_rate": 0.05}
# Over how many questions each metric is taken: every other one is over the answerable ones.
# Invalid citations are counted per citation and stay strict.
DENOMINATOR: dict[str, str | None] = {"correct_refusal_rate": "n_unanswerable", "invalid_citation_rate": None}


def allowed_change(metric: str, baseline: Mapping[str, Any]) -> float:
    """The metric's tolerance, but never less than one question's worth.

    A score sitting on the refusal threshold can flip between machines whose floating point
    differs in the last digits; on a set with 19 unanswerable questions that one flip moves the
    correct-refusal rate by 0.053, more than 0.05. One question is noise, two are a regression.
    """
    tolerance = ALLOWED_DROP.get(metric, ALLOWED_RISE.get(metric, 0.0))
    count = DENOMINATOR.get(metric, "n_answerable")
    questions = baseline.get(count) if count else None
    one_question = 1 / questions if isinstance(questions, int) and questions > 0 else 0.0
    return max(tolerance, one_question)


@dataclass(frozen=True)
class Comparison:
    """One metric against the baseline."""

    metric: str
    baseline: float | None
    current: float | None
    allowed: float
    regressed: bool
    part: str = "all"  # "all", or the dataset part ("tune", "test") the figures are over

    @property
    def delta(self) -> float | None:
        """current - baseline, when both exist."""
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline


def compare(current: Mapping[str, Any], baseline: Mapping[str, Any], part: str = "all") -> list[Comparison]:
    """Every gated metric of one part of the dataset; latency is reported elsewhere, not gated
    (it depends on the machine)."""
    rows = []
    for metric in [*ALLOWED_DROP, *ALLOWED_RISE]:
        allowed = allowed_change(metric, baseline)
        base, now = baseline.get(metric), current.get(metric)
        if base is None:
            regressed = False
        elif now is None:
            regressed = True
        elif metric in ALLOWED_RISE:
            regressed = now - base > allowed + 1e-9
        else:
            regressed = base - now > allowed + 1e-9
        rows.append(Comparison(metric, base, now, allowed, regressed, part))
    return rows


def right_to_wrong(current: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[str]:
    """Ids of questions answered correctly in the baseline and wrongly now."""
    before = baseline.get("per_question") or {}
    after = current.get("per_question") or {}
    return sorted(
        q for q, b in before.items() if b.get("correct") and not after.get(q, {}).get("correct", False)
    )
