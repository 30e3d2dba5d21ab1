"""Retrieval quality of embedder backends on the development set: int8 against fp32.

Each `--index BACKEND=DIR` is an index of corpus/ and the shared corpus built with that
backend (`bench/ingest.py --corpus corpus ~/.cache/iom-assistant/eval-corpus --keep D` builds
D/torch and D/onnx-int8). Every question is asked through the service (extractive provider)
and scored by `evaluation.runner`; printed per part of the development set (tune, test, all):
hit@1, hit@5, MRR@10 and evidence recall@5, with each backend's difference from the first.
A backend may become the default only within 0.01 of fp32 on hit@1 and evidence recall@5.

    .venv/bin/python bench/encoder_quality.py --index torch=D/torch --index onnx-int8=D/onnx-int8
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, cast

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.service import AssistantService  # noqa: E402
from assistant.settings import EmbedderBackend, load_settings  # noqa: E402
from evaluation.dataset import load_dataset  # noqa: E402
from evaluation.runner import QuestionResult, aggregate, evaluate  # noqa: E402

DEV_SET = REPO / "evaluation" / "datasets" / "iom-dev.jsonl"
ROWS = ("hit@1", "hit@5", "mrr@10", "evidence_recall@5")
TOLERANCE = 0.01


def scores(backend: str, index_dir: Path, dataset: Path) -> dict[str, dict[str, Any]]:
    """Aggregate retrieval figures of one backend's index, per part of the dataset."""
    settings = load_settings(
        index_dir=index_dir, corpus_dir=REPO / "corpus", embedder_backend=cast(EmbedderBackend, backend)
    )
    service = AssistantService(settings)
    service.warm_up()
    cases = load_dataset(dataset)
    results: list[QuestionResult] = evaluate(
        lambda case: service.ask(case.question, history=case.history, provider="extractive"),
        service.index.embedder,
        cases,
        progress=False,
    )
    parts = {"tune": [r for r in results if r.case.split == "tune"],
             "test": [r for r in results if r.case.split == "test"],
             "all": results}
    return {part: aggregate(rs) | {"n": sum(r.case.answerable for r in rs)} for part, rs in parts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--index", action="append", required=True, help="BACKEND=DIR, first is the reference")
    parser.add_argument("--dataset", type=Path, default=DEV_SET)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    figures = {}
    for entry in args.index:
        backend, _, folder = entry.partition("=")
        figures[backend] = scores(backend, Path(folder), args.dataset)
    reference = next(iter(figures))
    for part in ("tune", "test", "all"):
        print(f"\n{part} part: {figures[reference][part]['n']} answerable questions")
        print(f"{'metric':<20}" + "".join(f"{b:>14}" for b in figures) + "".join(
            f"{'d ' + b:>16}" for b in list(figures)[1:]))
        for row in ROWS:
            values = [figures[b][part].get(row) for b in figures]
            base = values[0]
            deltas = [v - base if v is not None and base is not None else None for v in values[1:]]
            print(f"{row:<20}" + "".join(f"{v:>14.4f}" if v is not None else f"{'-':>14}" for v in values)
                  + "".join(f"{d:>+16.4f}" if d is not None else f"{'-':>16}" for d in deltas))
    worst = min(
        (figures[b][p][r] or 0.0) - (figures[reference][p][r] or 0.0)
        for b in list(figures)[1:]
        for p in ("tune", "test")
        for r in ("hit@1", "evidence_recall@5")
    ) if len(figures) > 1 else 0.0
    verdict = "within" if worst >= -TOLERANCE else "NOT within"
    print(f"\nlargest drop on hit@1 / evidence_recall@5 per part: {worst:+.4f} ({verdict} {TOLERANCE})")


if __name__ == "__main__":
    main()
