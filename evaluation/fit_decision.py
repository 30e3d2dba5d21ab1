"""Fit the answer-or-refuse model on the tuning part of a dataset, with cross-validated figures.

    python -m evaluation.fit_decision [--dataset evaluation/datasets/iom-dev.jsonl]

Each tuning question (follow-ups aside), read as the service reads it, gives one row of
`Evidence` when a sentence answers by the rules (kind of fact, entities), labelled by whether the
question is answerable. Logistic regression (scikit-learn, balanced classes, standardised
features, strength chosen by cross-validated AUC); the threshold on its probability is the
highest whose cross-validated false refusals, rules included, stay at or under 10%. Written to
`assistant/answering/decision.json`, versioned by the dataset's hash. It needs an index of the
evaluation documents in `IOM_ASSISTANT_INDEX_DIR` and the test extras.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answering.decision import Evidence
from assistant.answering.fitted import DECISION
from assistant.service import AssistantService
from evaluation.dataset import EvalCase
from evaluation.tuning import tuning_part

MODELS = Path(__file__).resolve().parents[1] / "assistant" / "answering"
FOLDS = 5
C_GRID = (0.01, 0.1, 1.0, 10.0)  # regularisation strengths tried by cross-validation
MAX_FALSE_REFUSALS = 0.10  # the bound on refusing answerable questions


@dataclass(frozen=True)
class Row:
    """One tuning question as the decision model sees it."""

    case: EvalCase
    rules_answer: bool  # a sentence answers by the rules
    features: list[float]


def fit_logistic(x: np.ndarray, y: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
    """A standardised, class-balanced logistic regression's parameters, and its cross-validated
    probabilities."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict, cross_val_score

    means, scales = x.mean(axis=0), x.std(axis=0)
    scales[scales == 0] = 1.0
    z = (x - means) / scales
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=0)

    def model_of(strength: float) -> LogisticRegression:
        return LogisticRegression(C=strength, class_weight="balanced", max_iter=1000)

    def auc(strength: float) -> float:
        return float(cross_val_score(model_of(strength), z, y, cv=folds, scoring="roc_auc").mean())

    strength = max(C_GRID, key=auc)
    model = model_of(strength)
    probability = cross_val_predict(model, z, y, cv=folds, method="predict_proba")[:, 1]
    model.fit(z, y)
    params = {
        "weights": [round(float(w), 6) for w in model.coef_[0]],
        "bias": round(float(model.intercept_[0]), 6),
        "means": [round(float(m), 6) for m in means],
        "scales": [round(float(s), 6) for s in scales],
        "C": strength,
        "cross_validated_auc": round(auc(strength), 4),
    }
    return params, probability


def collect(service: AssistantService, cases: list[EvalCase]) -> list[Row]:
    """Features of each standalone question, read as the service reads it."""
    rows = []
    for case in cases:
        _, selection = service.select(case.question)
        evidence = selection.evidence
        features = evidence.vector() if evidence is not None else [0.0] * len(Evidence.names())
        rows.append(Row(case, selection.answers and evidence is not None, features))
    return rows


def fit_decision(rows: list[Row]) -> dict[str, Any]:
    """The answer-or-refuse model, its threshold and cross-validated refusal rates."""
    used = [r for r in rows if r.rules_answer]
    if len({r.case.answerable for r in used}) < 2:
        raise SystemExit(
            f"{len(used)} of {len(rows)} tuning questions are answered by the rules, too few to fit on:"
            " is IOM_ASSISTANT_INDEX_DIR an index of the evaluation documents (make corpus, then"
            " iom-assistant ingest ~/.cache/iom-assistant/eval-corpus)?"
        )
    x = np.asarray([r.features for r in used], dtype=np.float64)
    y = np.asarray([r.case.answerable for r in used], dtype=np.int64)
    params, probability = fit_logistic(x, y)
    answerable = [r for r in rows if r.case.answerable]
    unanswerable = [r for r in rows if not r.case.answerable]
    by_id = dict(zip([r.case.id for r in used], probability.tolist(), strict=True))

    def refusals(threshold: float) -> tuple[float, float]:
        def refused(r: Row) -> bool:
            return not r.rules_answer or by_id[r.case.id] < threshold

        return (
            sum(map(refused, unanswerable)) / len(unanswerable),
            sum(map(refused, answerable)) / len(answerable),
        )

    candidates = sorted({0.0, *probability.tolist()})
    threshold = max(t for t in candidates if refusals(t)[1] <= MAX_FALSE_REFUSALS)
    correct, false = refusals(threshold)
    return {
        "features": list(Evidence.names()),
        **params,
        "threshold": round(threshold, 6),
        "cross_validated": {
            "questions": len(rows),
            "fitted_rows": len(used),
            "refused_by_rules": sum(not r.rules_answer for r in rows),
            "correct_refusal_rate": round(correct, 4),
            "false_refusal_rate": round(false, 4),
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Refit `decision.json` from the tuning part of the dataset."""
    part = tuning_part("python -m evaluation.fit_decision", __doc__.split("\n")[0], argv)
    decision = {"version": part.version, **fit_decision(collect(part.service, part.cases))}
    (MODELS / DECISION).write_text(json.dumps(decision, indent=2) + "\n", encoding="utf-8")
    print(f"{DECISION}: {json.dumps(decision['cross_validated'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
