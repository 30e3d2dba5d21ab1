"""Scoring: each answer against its case (`score`), a run's figures (`aggregate`); `evaluate` asks
every question through the `ask` it is given (the service, as the UI uses it) and scores the answer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.answer import Answer
from assistant.citations import cited_numbers, strip_markers
from assistant.embedder import Embedder
from assistant.errors import AssistantError
from assistant.grounding import GroundingGuard, parse_claims
from evaluation.dataset import EvalCase, source_matches
from evaluation.judge import Judge
from evaluation.metrics import (
    key_fact_recall,
    mean,
    percentile,
    retrieval_metrics,
    token_f1,
)
from evaluation.registry import METRIC_KEYS, METRICS


@dataclass
class QuestionResult:
    """One question: the answer given, its scores and what went wrong."""

    case: EvalCase
    answer: dict[str, Any]
    scores: dict[str, float | None] = field(default_factory=dict)
    grounded: tuple[int, int] = (0, 0)  # supported sentences, sentences
    markers: tuple[int, int] = (0, 0)  # invalid citation markers, markers
    label: str = "ok"
    correct: bool = False
    error: str | None = None

    @property
    def latency_ms(self) -> float:
        """End-to-end time of the answer."""
        return float(self.answer.get("timings_ms", {}).get("total", 0.0))


def evaluate(
    ask: Callable[[EvalCase], Answer],
    embedder: Embedder,
    cases: Sequence[EvalCase],
    progress: bool = False,
    judge: Judge | None = None,
) -> list[QuestionResult]:
    """Ask every question and score the answers (embedder: for the meaning checks; judge: optional)."""
    guard = GroundingGuard(embedder)
    results: list[QuestionResult] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(cases), unit="question")
    for case in cases:
        try:
            answer = ask(case)
            result = score(case, answer, guard)
            if judge is not None and case.answerable and not answer.refused:
                _add_verdict(result, answer, judge)
        except AssistantError as exc:
            result = QuestionResult(case, {"answer": "", "refused": True, "citations": [], "retrieved": []})
            result.error = str(exc)
            result.label = "error"
        results.append(result)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    _add_semantic_similarity(embedder, results)
    return results


def score(case: EvalCase, answer: Answer, guard: GroundingGuard) -> QuestionResult:
    """Scores of one answer against its case (semantic similarity is added in batch later)."""
    data = answer.to_dict()
    result = QuestionResult(case, data)
    text = strip_markers(answer.answer)
    cited = list(dict.fromkeys(c.source_id for c in answer.citations))

    markers = cited_numbers(answer.answer)
    valid = {c.n for c in answer.citations}
    result.markers = (sum(n not in valid for n in markers), len(markers))
    result.grounded = _grounded(answer, guard)

    if case.answerable:
        ranked = list(dict.fromkeys(r.source_id for r in answer.retrieved))
        is_gold, matched = [], set()  # a gold document counts once, even if indexed twice
        for source in ranked:
            gold = next(
                (g for g in case.gold_source_ids if g not in matched and source_matches(g, source)), None
            )
            is_gold.append(gold is not None)
            if gold is not None:
                matched.add(gold)
        result.scores.update(retrieval_metrics(is_gold, len(case.gold_source_ids)))
        top5 = " ".join(r.text for r in answer.retrieved[:5])
        groups = case.short_answers
        result.scores["evidence_recall@5"] = key_fact_recall(top5, groups)  # the key facts in the passages
        result.scores["key_fact_recall"] = 0.0 if answer.refused else key_fact_recall(text, groups)
        result.scores["token_f1"] = 0.0 if answer.refused else token_f1(text, case.reference_answer)
        gold_cited = [s for s in cited if any(source_matches(g, s) for g in case.gold_source_ids)]
        result.scores["citation_precision"] = len(gold_cited) / len(cited) if cited else None
        found_gold = [g for g in case.gold_source_ids if any(source_matches(g, s) for s in cited)]
        result.scores["citation_recall"] = len(found_gold) / len(case.gold_source_ids)
        result.correct = not answer.refused and (result.scores["key_fact_recall"] or 0.0) >= 0.5
    else:
        result.correct = answer.refused
    result.label = _label(result)
    return result


def _grounded(answer: Answer, guard: GroundingGuard) -> tuple[int, int]:
    """Sentences backed by the passages they cite, judged anew by the guard's rule on the final text."""
    if answer.refused:
        return (0, 0)
    by_n = {c.n: c for c in answer.citations}
    claims, _ = parse_claims(answer.answer, max(by_n, default=0))
    # Passage n-1 is what citation n quotes, read with the rest of the cited document's retrieved text.
    contexts = []
    for n in range(1, max(by_n, default=0) + 1):
        citation = by_n.get(n)
        if citation is None:
            contexts.append("")
            continue
        same_source = [r.text for r in answer.retrieved if r.source_id == citation.source_id]
        contexts.append(" ".join([citation.quote, *same_source]))
    supported = sum(guard.backed(claim, contexts) for claim in claims)
    return supported, len(claims)


def _add_verdict(result: QuestionResult, answer: Answer, judge: Judge) -> None:
    """The judge's grades, from the passages the answer cites."""
    cited = {c.chunk_id for c in answer.citations}
    passages = [r.text for r in answer.retrieved if r.chunk_id in cited] or [
        c.quote for c in answer.citations
    ]
    reference = result.case.reference_answer or "; ".join(g[0] for g in result.case.short_answers)
    verdict = judge.grade(result.case.question, reference, strip_markers(answer.answer), passages)
    result.scores["judge_faithfulness"] = verdict.faithfulness
    result.scores["judge_correctness"] = verdict.correctness


def _label(result: QuestionResult) -> str:
    s, refused = result.scores, bool(result.answer.get("refused"))
    if not result.case.answerable:
        return "ok" if refused else "missed refusal"
    if refused:
        return "wrong refusal"
    if not s.get("hit@5") and not s.get("evidence_recall@5"):
        return "retrieval miss"
    if (s.get("key_fact_recall") or 0.0) < 0.5:
        return "answer miss"
    supported, total = result.grounded
    if total and supported < total:
        return "ungrounded"
    invalid, _ = result.markers
    if invalid or s.get("citation_precision") == 0.0:
        return "bad citation"
    return "ok"


def _add_semantic_similarity(embedder: Embedder, results: list[QuestionResult]) -> None:
    pairs = [
        (r, strip_markers(str(r.answer.get("answer", ""))), r.case.reference_answer)
        for r in results
        if r.case.answerable and r.case.reference_answer
    ]
    if not pairs:
        return
    answers = embedder.embed([p[1] or " " for p in pairs])
    references = embedder.embed([p[2] or " " for p in pairs])
    sims = np.sum(answers * references, axis=1)
    for (result, _, _), sim in zip(pairs, sims, strict=True):
        result.scores["semantic_similarity"] = 0.0 if result.answer.get("refused") else max(0.0, float(sim))


def aggregate(results: Sequence[QuestionResult]) -> dict[str, float | int | None]:
    """metrics.json: the DESIGN.md keys, None where a metric could not be computed."""
    answerable = [r for r in results if r.case.answerable]
    unanswerable = [r for r in results if not r.case.answerable]
    metrics: dict[str, float | int | None] = {
        "n_questions": len(results),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
    }
    for key in (m.key for m in METRICS if m.per_question):  # the judge's are None without a judge
        metrics[key] = mean([r.scores.get(key) for r in answerable])
    supported = sum(r.grounded[0] for r in results)
    sentences = sum(r.grounded[1] for r in results)
    metrics["grounded_sentence_rate"] = supported / sentences if sentences else None
    invalid = sum(r.markers[0] for r in results)
    markers = sum(r.markers[1] for r in results)
    metrics["invalid_citation_rate"] = invalid / markers if markers else None
    refused = [bool(r.answer.get("refused")) for r in unanswerable]
    metrics["correct_refusal_rate"] = sum(refused) / len(refused) if refused else None
    wrong = [bool(r.answer.get("refused")) for r in answerable]
    metrics["false_refusal_rate"] = sum(wrong) / len(wrong) if wrong else None
    latencies = [r.latency_ms for r in results if r.error is None]
    metrics["latency_ms_p50"] = percentile(latencies, 50)
    metrics["latency_ms_p95"] = percentile(latencies, 95)
    unregistered = set(metrics) ^ set(METRIC_KEYS)
    if unregistered:  # a metric computed but not named in the registry, or named but not computed
        raise ValueError(f"metrics not in step with evaluation/registry.py: {sorted(unregistered)}")
    return {
        k: (round(v, 4) if isinstance(v, float) else v) for k, v in ((k, metrics[k]) for k in METRIC_KEYS)
    }
