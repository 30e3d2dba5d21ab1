"""Fit the BM25 list's weight in retrieval's rank fusion on the tuning part, with cross-validated figures.

    python -m evaluation.fit_fusion [--dataset evaluation/datasets/iom-dev.jsonl]

Each tuning question (follow-ups aside) is glossed and searched as the service does; for each
weight of `WEIGHTS` the dense and BM25 lists are fused and diversified as `Retriever.retrieve`
does, and scored by hit@1 (the first passage is from a gold document) plus evidence recall@5 (the
key facts stand in the first five passages), as the evaluation scores them. The weight with the
best sum on the whole tuning part is written to `assistant/fusion.json`, versioned by the
dataset's hash, with its five-fold cross-validated figures (the weight chosen on four folds,
scored on the fifth) beside those of equal weights. It needs an index of the evaluation documents
in `IOM_ASSISTANT_INDEX_DIR`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from assistant.retrieval import FUSION, Candidates, RetrievalConfig, Retriever, diversify, fuse
from evaluation.dataset import EvalCase, source_matches
from evaluation.metrics import key_fact_recall, mean
from evaluation.tuning import tuning_part

TARGET = Path(__file__).resolve().parents[1] / "assistant" / FUSION
WEIGHTS = (0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0)  # of the BM25 list; the dense list's is 1
FOLDS = 5


@dataclass(frozen=True)
class Searched:
    """One tuning question's dense and BM25 lists, as the retriever finds them."""

    case: EvalCase
    found: Candidates


def search(retriever: Retriever, case: EvalCase) -> Searched:
    """The question's two lists, before fusion."""
    query = retriever.gloss(case.question).search_text
    return Searched(case, retriever.candidates(query, retriever.embedder.embed([query])[0]))


def score(searched: Searched, config: RetrievalConfig) -> tuple[float, float]:
    """hit@1 and evidence recall@5 of the fused, diversified passages, as the evaluation scores them."""
    found, case = searched.found, searched.case
    order = fuse(found.dense, found.lexical, config)
    top = [found.chunks[cid] for cid in diversify(order, found.chunks, 5, config.per_source_cap)]
    hit = bool(top) and any(source_matches(g, top[0].source_id) for g in case.gold_source_ids)
    return float(hit), key_fact_recall(" ".join(c.text for c in top), case.short_answers) or 0.0


def best_weight(rows: Sequence[Searched], config: RetrievalConfig) -> float:
    """The weight of `WEIGHTS` with the best hit@1 + evidence recall@5 over the rows (the smaller
    on a tie)."""
    return max(WEIGHTS, key=lambda w: (sum(figures(rows, replace(config, lexical_weight=w)).values()), -w))


def figures(rows: Sequence[Searched], config: RetrievalConfig) -> dict[str, float]:
    """Mean hit@1 and evidence recall@5 over the rows."""
    return means([score(r, config) for r in rows])


def means(scores: Sequence[tuple[float, float]]) -> dict[str, float]:
    """Mean hit@1 and evidence recall@5 of (hit@1, evidence recall@5) pairs."""
    return {
        "hit@1": round(mean([hit for hit, _ in scores]) or 0.0, 4),
        "evidence_recall@5": round(mean([recall for _, recall in scores]) or 0.0, 4),
    }


def cross_validated(rows: Sequence[Searched], config: RetrievalConfig) -> dict[str, dict[str, float]]:
    """Held-out figures of the weight chosen on the other folds, beside those of equal weights."""
    shuffled = list(rows)
    random.Random(0).shuffle(shuffled)
    held_out: list[tuple[Searched, RetrievalConfig]] = []
    for fold in range(FOLDS):
        train = [r for i, r in enumerate(shuffled) if i % FOLDS != fold]
        chosen = replace(config, lexical_weight=best_weight(train, config))
        held_out += [(r, chosen) for r in shuffled[fold::FOLDS]]
    return {
        "fitted_weight": means([score(r, chosen) for r, chosen in held_out]),
        "equal_weights": figures(rows, replace(config, lexical_weight=1.0)),
    }


def main(argv: list[str] | None = None) -> int:
    """Refit `fusion.json` from the tuning part of the dataset."""
    part = tuning_part("python -m evaluation.fit_fusion", __doc__.split("\n")[0], argv)
    retriever = part.service.retriever
    rows = [search(retriever, case) for case in part.cases if case.answerable]
    weight = best_weight(rows, retriever.config)
    fusion = {
        "version": part.version,
        "lexical_weight": weight,
        "chosen_by": "hit@1 + evidence recall@5 over the answerable tuning questions",
        "questions": len(rows),
        "cross_validated": cross_validated(rows, retriever.config),
    }
    TARGET.write_text(json.dumps(fusion, indent=2) + "\n", encoding="utf-8")
    print(f"{FUSION}: {json.dumps(fusion)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
