"""The regression gate: compare a run with a saved baseline, metric by metric."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evaluation.registry import BY_KEY, GATED

# The questions a metric's one-question allowance is counted over (see `allowed_change`).
_QUESTIONS = {"unanswerable": "n_unanswerable", "citations": None}


def allowed_change(metric: str, baseline: Mapping[str, Any]) -> float:
    """The metric's tolerance, but never less than one question's worth.

    A score sitting on the refusal threshold can flip between machines whose floating point
    differs in the last digits; on a set with 19 unanswerable questions that one flip moves the
    correct-refusal rate by 0.053, more than 0.05. One question is noise, two are a regression.
    """
    registered = BY_KEY[metric]
    tolerance = registered.allowed_change or 0.0
    count = _QUESTIONS.get(registered.over, "n_answerable")
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
    for registered in GATED:
        metric = registered.key
        allowed = allowed_change(metric, baseline)
        base, now = baseline.get(metric), current.get(metric)
        if base is None:
            regressed = False
        elif now is None:
            regressed = True
        elif not registered.higher_is_better:
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
