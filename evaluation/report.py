"""Writes a run's files: metrics.json, predictions.jsonl, per_question.csv, report.md, report.html.

Plots are inline SVG (evaluation/plots.py), so report.html is one self-contained file. Slightly
over 300 lines: report.md and report.html share their tables and helpers, which a split would
only pass back and forth.
"""

from __future__ import annotations

import csv
import html
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from assistant.citations import strip_markers
from evaluation.dataset import source_matches
from evaluation.gate import Comparison
from evaluation.metrics import bootstrap_ci
from evaluation.plots import BaselineBar, bar_plot, baseline_plot, figure, line_plot
from evaluation.registry import GROUP_HEADLINE, QUESTION_SCORES
from evaluation.scoring import QuestionResult, aggregate


def write_run(
    out: Path,
    results: Sequence[QuestionResult],
    metrics: dict[str, Any],
    comparisons: Sequence[Comparison] = (),
    regressions: Sequence[str] = (),
) -> None:
    """All output files of one evaluation run."""
    out.mkdir(parents=True, exist_ok=True)
    metrics = dict(metrics)
    metrics["per_question"] = {r.case.id: {"correct": r.correct, "label": r.label} for r in results}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    with (out / "predictions.jsonl").open("w", encoding="utf-8") as handle:
        for r in results:
            handle.write(json.dumps(_prediction(r), ensure_ascii=False) + "\n")
    _write_csv(out / "per_question.csv", results)
    (out / "report.md").write_text(_markdown(results, metrics, comparisons, regressions), encoding="utf-8")
    (out / "report.html").write_text(_html(results, metrics, comparisons, regressions), encoding="utf-8")


def _prediction(r: QuestionResult) -> dict[str, Any]:
    a = r.answer
    return {
        "id": r.case.id,
        "question": r.case.question,
        "answer": a.get("answer", ""),
        "refused": a.get("refused"),
        "citations": a.get("citations", []),
        "retrieved": a.get("retrieved", []),
        "notices": a.get("notices", []),
        "latency_ms": r.latency_ms,
        "label": r.label,
        "scores": r.scores,
        "error": r.error,
        # RAGAS field names, so `ragas.evaluate` can read this file as it is
        "user_input": r.case.question,
        "response": strip_markers(str(a.get("answer", ""))),
        "retrieved_contexts": [p["text"] for p in a.get("retrieved", [])],
        "reference": r.case.reference_answer or "",
    }


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text: one starting like a formula ("=HYPERLINK(")
    gets a leading apostrophe. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _write_csv(path: Path, results: Sequence[QuestionResult]) -> None:
    fields = ["id", "answerable", "refused", "label", "correct", "latency_ms", *QUESTION_SCORES, "question"]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for r in results:
            row: dict[str, Any] = {
                "id": r.case.id,
                "answerable": r.case.answerable,
                "refused": r.answer.get("refused"),
                "label": r.label,
                "correct": r.correct,
                "latency_ms": round(r.latency_ms, 1),
                "question": r.case.question,
            }
            for key in QUESTION_SCORES:
                value = r.scores.get(key)
                row[key] = "" if value is None else round(value, 4)
            writer.writerow({key: spreadsheet_safe(value) for key, value in row.items()})


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _markdown(
    results: Sequence[QuestionResult],
    metrics: Mapping[str, Any],
    comparisons: Sequence[Comparison],
    regressions: Sequence[str],
) -> str:
    parts = metrics.get("splits") or {}
    lines = [
        "# Evaluation report",
        "",
        "The tuning part is what thresholds and fitted models may be chosen on; the test part "
        "(about a third, fixed by a hash of each id) is frozen and predicts unseen questions.",
        "",
        f"| metric | all | {' | '.join(parts)} | 95% CI (all) |",
        f"| --- | --- | {'--- | ' * len(parts)}--- |",
    ]
    for key, value in metrics.items():
        if key in ("per_question", "splits"):
            continue
        ci = _ci(results, key)
        by_part = " | ".join(_fmt(m.get(key)) for m in parts.values())
        lines.append(
            f"| {key} | {_fmt(value)} | {by_part} | {'' if ci is None else f'{ci[0]:.3f}–{ci[1]:.3f}'} |"
        )
    lines += _group_lines("By language", results, lambda r: [r.case.language])
    lines += _group_lines("By tag", results, lambda r: list(r.case.tags) or ["(none)"])
    lines += ["", "## Failures", ""]
    for label, count in Counter(r.label for r in results).most_common():
        lines.append(f"- {label}: {count}")
    lines += _notice_lines(results)
    if comparisons:
        lines += [
            "",
            "## Against the baseline",
            "",
            "| part | metric | baseline | now | Δ | allowed | |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for c in comparisons:
            flag = "REGRESSION" if c.regressed else ""
            lines.append(
                f"| {c.part} | {c.metric} | {_fmt(c.baseline)} | {_fmt(c.current)} | {_fmt(c.delta)} "
                f"| {c.allowed:.3f} | {flag} |"
            )
        lines += ["", f"Questions right in the baseline and wrong now: {', '.join(regressions) or 'none'}"]
    lines += ["", "## Questions that failed (tuning part)", "", _UNLISTED, ""]
    for r in _listed_failures(results):
        answer = strip_markers(str(r.answer.get("answer", "")))[:200]
        lines.append(f"- **{r.case.id}** ({r.label}) {r.case.question} — _{answer}_")
    return "\n".join(lines) + "\n"


# The frozen test part's failures are counted in the tables, never listed: reading them would be
# tuning on the part that is meant to predict unseen questions.
_UNLISTED = "Failures of the frozen test part are counted above but not listed: read failures on the tuning part only."


def _listed_failures(results: Sequence[QuestionResult]) -> list[QuestionResult]:
    """The failed questions a report shows: those of the tuning part."""
    return [r for r in results if r.label != "ok" and r.case.split == "tune"]


def _group_lines(
    title: str, results: Sequence[QuestionResult], groups_of: Callable[[QuestionResult], list[str]]
) -> list[str]:
    """A table of the main metrics for each group of questions (a language, a tag)."""
    members: dict[str, list[QuestionResult]] = {}
    for r in results:
        for group in groups_of(r):
            members.setdefault(group, []).append(r)
    lines = ["", f"## {title}", "", f"| group | questions | {' | '.join(GROUP_HEADLINE)} |"]
    lines.append(f"| --- | --- | {'--- | ' * len(GROUP_HEADLINE)}")
    for group in sorted(members, key=lambda g: (-len(members[g]), g)):
        m = aggregate(members[group])
        lines.append(
            f"| {group} | {len(members[group])} | {' | '.join(_fmt(m.get(k)) for k in GROUP_HEADLINE)} |"
        )
    return lines


def _notice_lines(results: Sequence[QuestionResult]) -> list[str]:
    """How often each notice was shown, on answerable and unanswerable questions: a notice
    worth showing appears where the answer falls short, not on right answers."""
    shown: Counter[tuple[str, str]] = Counter()
    for r in results:
        group = "unanswerable" if not r.case.answerable else ("right" if r.label == "ok" else "failed")
        for notice in set(r.answer.get("notices") or []):
            shown[(re.sub(r"\d+", "N", notice), group)] += 1
    if not shown:
        return []
    lines = ["", "## Notices shown", "", "| notice | answerable, right | answerable, failed | unanswerable |"]
    lines.append("| --- | --- | --- | --- |")
    for notice in sorted({n for n, _ in shown}):
        counts = [shown[(notice, g)] for g in ("right", "failed", "unanswerable")]
        lines.append(f"| {notice} | {' | '.join(map(str, counts))} |")
    return lines


def _ci(results: Sequence[QuestionResult], key: str) -> tuple[float, float] | None:
    values = [v for r in results if r.case.answerable and (v := r.scores.get(key)) is not None]
    return bootstrap_ci(values) if values else None


# -- HTML with inline SVG ----------------------------------------------------------------

_STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#1d2733}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccd;padding:4px 8px;text-align:left}
.bad{background:#fde2e1}.plots{display:flex;flex-wrap:wrap;gap:24px}figure{margin:0}
figcaption{font-size:.9em;color:#556}"""


def _html(
    results: Sequence[QuestionResult],
    metrics: Mapping[str, Any],
    comparisons: Sequence[Comparison],
    regressions: Sequence[str],
) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(k)}</td><td>{_fmt(v)}</td>"
        + "".join(f"<td>{_fmt(m.get(k))}</td>" for m in (metrics.get("splits") or {}).values())
        + "</tr>"
        for k, v in metrics.items()
        if k not in ("per_question", "splits")
    )
    part_heads = "".join(f"<th>{e(p)}</th>" for p in metrics.get("splits") or {})
    plots = [
        figure("Recall of gold documents by k", line_plot(_recall_curve(results), "k", "recall")),
        figure("Rank of the first gold document", bar_plot(_first_rank_counts(results))),
        figure("Refusals", _confusion(results)),
    ]
    if comparisons:
        plots.append(figure("Now against the baseline (with 95% CI)", _baseline_plot(results, comparisons)))
    failures = "".join(
        f"<tr class='bad'><td>{e(r.case.id)}</td><td>{e(r.label)}</td><td>{e(r.case.question)}</td>"
        f"<td>{e(strip_markers(str(r.answer.get('answer', '')))[:300])}</td></tr>"
        for r in _listed_failures(results)
    )
    gate = ""
    if comparisons:
        gate_rows = "".join(
            f"<tr class='{'bad' if c.regressed else ''}'><td>{e(c.part)}</td><td>{e(c.metric)}</td><td>{_fmt(c.baseline)}</td>"
            f"<td>{_fmt(c.current)}</td><td>{_fmt(c.delta)}</td><td>{c.allowed}</td></tr>"
            for c in comparisons
        )
        gate = (
            "<h2>Against the baseline</h2><table><tr><th>part</th><th>metric</th><th>baseline</th><th>now</th><th>Δ</th>"
            f"<th>allowed</th></tr>{gate_rows}</table><p>Right before, wrong now: {e(', '.join(regressions) or 'none')}</p>"
        )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Evaluation report</title><style>{_STYLE}</style>"
        f"</head><body><h1>Evaluation report</h1><table><tr><th>metric</th><th>all</th>{part_heads}</tr>{rows}</table>"
        f"<div class='plots'>{''.join(plots)}</div>{gate}<h2>Questions that failed (tuning part)</h2>"
        f"<p>{e(_UNLISTED)}</p><table>"
        f"<tr><th>id</th><th>failure</th><th>question</th><th>answer</th></tr>{failures}</table></body></html>\n"
    )


def _recall_curve(results: Sequence[QuestionResult]) -> list[tuple[float, float]]:
    answerable = [r for r in results if r.case.answerable]
    points = []
    for k in range(1, 11):
        hits = 0
        for r in answerable:
            ranked = list(dict.fromkeys(p["source_id"] for p in r.answer.get("retrieved", [])))[:k]
            hits += any(source_matches(g, s) for g in r.case.gold_source_ids for s in ranked)
        points.append((float(k), hits / len(answerable) if answerable else 0.0))
    return points


def _first_rank_counts(results: Sequence[QuestionResult]) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for r in results:
        if not r.case.answerable:
            continue
        ranked = list(dict.fromkeys(p["source_id"] for p in r.answer.get("retrieved", [])))
        first = next(
            (
                i + 1
                for i, s in enumerate(ranked)
                if any(source_matches(g, s) for g in r.case.gold_source_ids)
            ),
            None,
        )
        counts["miss" if first is None else str(first)] += 1
    order = [str(i) for i in range(1, 11)] + ["miss"]
    return [(k, counts[k]) for k in order if counts[k]]


def _confusion(results: Sequence[QuestionResult]) -> str:
    cells = Counter((r.case.answerable, bool(r.answer.get("refused"))) for r in results)
    rows = [("answerable", True), ("unanswerable", False)]
    body = "".join(
        f"<tr><th>{name}</th><td>{cells[(flag, False)]}</td><td>{cells[(flag, True)]}</td></tr>"
        for name, flag in rows
    )
    return f"<table><tr><th></th><th>answered</th><th>refused</th></tr>{body}</table>"


def _baseline_plot(results: Sequence[QuestionResult], comparisons: Sequence[Comparison]) -> str:
    shown = [c for c in comparisons if c.part == "all" and c.current is not None and c.baseline is not None][
        :12
    ]
    return baseline_plot(
        [
            BaselineBar(c.metric, c.current or 0, c.baseline or 0, _ci(results, c.metric), c.regressed)
            for c in shown
        ]
    )
