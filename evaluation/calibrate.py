"""Calibrate the refusal threshold on a dataset with answerable and unanswerable questions.

For every question, the support score of the best extractive sentence is computed
once; each candidate threshold that refuses at most --max-false-refusals of the
answerable questions is scored by balanced accuracy (the mean of the correct-refusal
rate and the answered rate on answerable questions), ties broken toward answering. Run:

    .venv/bin/python -m evaluation.calibrate --dataset evaluation/datasets/iom-dev.jsonl
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import dataclass
from pathlib import Path

from assistant.service import AssistantService
from assistant.settings import load_settings
from evaluation.dataset import EvalCase, load_dataset


@dataclass(frozen=True)
class Calibration:
    """The chosen threshold and what it does on the dataset."""

    threshold: float
    correct_refusal_rate: float
    false_refusal_rate: float
    balanced_accuracy: float


def confidences(service: AssistantService, cases: list[EvalCase]) -> list[tuple[float, bool]]:
    """(best sentence support, answerable) for every question."""
    out = []
    for case in cases:
        _, selection = service.select(case.question)
        out.append((selection.confidence, case.answerable))
    return out


def best_threshold(scores: list[tuple[float, bool]], max_false_refusals: float = 0.2) -> Calibration:
    """The threshold with the best balanced accuracy (answering wins ties), among those that
    refuse at most `max_false_refusals` of the answerable questions: a refusal of a question
    the documents answer costs staff more than an irrelevant but true, cited sentence."""
    answerable = [s for s, a in scores if a]
    unanswerable = [s for s, a in scores if not a]
    # Midway between neighbouring scores, as far as the data allows from any question's score:
    # a threshold on a score would flip that question on a machine that rounds differently.
    distinct = sorted({s for s, _ in scores})
    candidates = [0.0] + [(low + high) / 2 for low, high in itertools.pairwise(distinct)]
    best: Calibration | None = None
    for threshold in candidates:
        refused_right = sum(s < threshold for s in unanswerable) / max(1, len(unanswerable))
        refused_wrong = sum(s < threshold for s in answerable) / max(1, len(answerable))
        balanced = (refused_right + 1 - refused_wrong) / 2
        if refused_wrong > max_false_refusals:
            continue
        if best is None or balanced > best.balanced_accuracy + 1e-9:
            best = Calibration(threshold, refused_right, refused_wrong, balanced)
    assert best is not None
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--index-dir", type=Path)
    parser.add_argument("--max-false-refusals", type=float, default=0.2)
    args = parser.parse_args()
    settings = load_settings(index_dir=args.index_dir)
    service = AssistantService(settings)
    service.warm_up()
    scores = confidences(service, load_dataset(args.dataset))
    for score, answerable in sorted(scores):
        print(f"{score:.4f} {'answerable' if answerable else 'UNANSWERABLE'}")
    result = best_threshold(scores, args.max_false_refusals)
    print(
        f"threshold {result.threshold:.4f}: correct refusals {result.correct_refusal_rate:.2f}, "
        f"false refusals {result.false_refusal_rate:.2f}, balanced accuracy {result.balanced_accuracy:.3f}"
    )


if __name__ == "__main__":
    main()
