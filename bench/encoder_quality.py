"""Retrieval quality of embedder backends on the development set: int8 against fp32.

Each `--index BACKEND=DIR` is an index of the same folders built with that backend
(`bench/ingest.py --corpus corpus ~/.cache/iom-assistant/eval-corpus --keep D` builds D/torch
and D/onnx-int8). Every question is retrieved for as the service retrieves for an answer
(the standalone question, its cross-lingual gloss, hybrid search; no answer is read, so this is
quick) and scored as `evaluation.scoring` scores retrieval: hit@1, hit@5, MRR@10 over distinct
documents and evidence recall@5 (the short answers in the top 5 passages), per part of the
development set (tune, test, all), with each backend's difference from the first. Only
answerable questions whose gold documents are all in `--corpus` count, so an index of part of
the shared corpus can be compared too. A backend may become the default only within 0.01 of fp32
on hit@1 and evidence recall@5.

    .venv/bin/python bench/encoder_quality.py --corpus corpus ~/.cache/iom-assistant/eval-corpus \
        --index torch=D/torch --index onnx-int8=D/onnx-int8
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import cast

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.service import AssistantService  # noqa: E402
from assistant.settings import EmbedderBackend, load_settings  # noqa: E402
from evaluation.dataset import EvalCase, load_dataset, source_matches  # noqa: E402
from evaluation.metrics import contains, mean, retrieval_metrics  # noqa: E402

DEV_SET = REPO / "evaluation" / "datasets" / "iom-dev.jsonl"
ROWS = ("hit@1", "hit@5", "mrr@10", "evidence_recall@5")
TOLERANCE = 0.01


def retrieval_scores(service: AssistantService, case: EvalCase) -> dict[str, float]:
    """The retrieval figures of one answerable question, as evaluation.scoring.score computes them."""
    answerer = service._answerer("extractive")
    standalone = answerer.standalone(case.question, case.history, [])
    _, passages, _ = service._retrieve(standalone, None, answerer)
    ranked = list(dict.fromkeys(p.chunk.source_id for p in passages))
    is_gold, matched = [], set()
    for source in ranked:
        gold = next((g for g in case.gold_source_ids if g not in matched and source_matches(g, source)), None)
        is_gold.append(gold is not None)
        if gold is not None:
            matched.add(gold)
    scores = retrieval_metrics(is_gold, len(case.gold_source_ids))
    top5 = " ".join(p.chunk.text for p in passages[:5])
    groups = case.short_answers
    scores["evidence_recall@5"] = sum(any(contains(top5, a) for a in g) for g in groups) / len(groups)
    return scores


def scores(backend: str, index_dir: Path, cases: list[EvalCase]) -> dict[str, dict[str, float | None]]:
    """Mean retrieval figures of one backend's index, per part of the dataset."""
    settings = load_settings(
        index_dir=index_dir, corpus_dir=REPO / "corpus", embedder_backend=cast(EmbedderBackend, backend)
    )
    service = AssistantService(settings)
    service.warm_up()
    results = [(case.split, retrieval_scores(service, case)) for case in cases]
    parts = {"tune": [r for s, r in results if s == "tune"], "test": [r for s, r in results if s == "test"],
             "all": [r for _, r in results]}  # fmt: skip
    return {
        part: {row: mean([r[row] for r in rows]) for row in ROWS} | {"n": float(len(rows))}
        for part, rows in parts.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--index", action="append", required=True, help="BACKEND=DIR, first is the reference")
    parser.add_argument("--dataset", type=Path, default=DEV_SET)
    parser.add_argument("--corpus", type=Path, nargs="+", required=True, help="the folders indexed")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    indexed = [str(p.relative_to(root)) for root in args.corpus for p in root.rglob("*") if p.is_file()]
    cases = [
        c for c in load_dataset(args.dataset)
        if c.answerable and all(any(source_matches(g, s) for s in indexed) for g in c.gold_source_ids)
    ]  # fmt: skip
    figures = {}
    for entry in args.index:
        backend, _, folder = entry.partition("=")
        figures[backend] = scores(backend, Path(folder), cases)
    reference = next(iter(figures))
    for part in ("tune", "test", "all"):
        print(f"\n{part} part: {figures[reference][part]['n']:.0f} answerable questions")
        print(
            f"{'metric':<20}"
            + "".join(f"{b:>14}" for b in figures)
            + "".join(f"{'d ' + b:>16}" for b in list(figures)[1:])
        )
        for row in ROWS:
            values = [figures[b][part].get(row) for b in figures]
            base = values[0]
            deltas = [v - base if v is not None and base is not None else None for v in values[1:]]
            print(
                f"{row:<20}"
                + "".join(f"{v:>14.4f}" if v is not None else f"{'-':>14}" for v in values)
                + "".join(f"{d:>+16.4f}" if d is not None else f"{'-':>16}" for d in deltas)
            )
    worst = (
        min(
            (figures[b][p][r] or 0.0) - (figures[reference][p][r] or 0.0)
            for b in list(figures)[1:]
            for p in ("tune", "test")
            for r in ("hit@1", "evidence_recall@5")
        )
        if len(figures) > 1
        else 0.0
    )
    verdict = "within" if worst >= -TOLERANCE else "NOT within"
    print(f"\nlargest drop on hit@1 / evidence_recall@5 per part: {worst:+.4f} ({verdict} {TOLERANCE})")


if __name__ == "__main__":
    main()
