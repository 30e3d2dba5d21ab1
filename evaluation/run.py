"""One evaluation run, end to end: dataset -> service -> scores -> files -> gate."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.answer import Answer
from assistant.errors import ConfigurationError
from assistant.service import AssistantService
from assistant.settings import Provider, Settings
from evaluation.dataset import SPLITS, EvalCase, load_dataset
from evaluation.gate import Comparison, compare, right_to_wrong
from evaluation.judge import Judge
from evaluation.registry import HEADLINE
from evaluation.report import write_run
from evaluation.scoring import aggregate, evaluate


@dataclass
class Outcome:
    """What a run measured and whether it fell below the baseline."""

    out: Path
    metrics: dict[str, Any]
    comparisons: list[Comparison] = field(default_factory=list)
    regressions: list[str] = field(default_factory=list)

    @property
    def regressed(self) -> bool:
        """True when any gated metric dropped more than allowed."""
        return any(c.regressed for c in self.comparisons)

    def summary(self) -> str:
        """A few lines for the terminal."""
        parts = self.metrics.get("splits", {})
        lines = [f"{'':24}{'all':>8}" + "".join(f"{p:>8}" for p in parts)]
        for k in HEADLINE:
            values = [self.metrics.get(k), *(m.get(k) for m in parts.values())]
            lines.append(f"{k:24}" + "".join(f"{'n/a' if v is None else v:>8}" for v in values))
        for c in self.comparisons:
            if c.regressed:
                lines.append(
                    f"REGRESSION {c.metric} ({c.part}): {c.baseline} -> {c.current} (allowed {c.allowed})"
                )
        if self.regressions:
            lines.append("right before, wrong now: " + ", ".join(self.regressions))
        lines.append(f"reports in {self.out}")
        return "\n".join(lines)


def run_evaluation(
    settings: Settings,
    dataset: Path,
    out: Path,
    *,
    baseline: Path | None = None,
    provider: Provider | None = None,
    progress: bool = False,
    service: AssistantService | None = None,
    judge: Judge | None = None,
) -> Outcome:
    """Evaluate, write the reports and compare with the baseline if one is given."""
    cases = load_dataset(dataset)
    service = service or AssistantService(settings)
    service.warm_up()

    def ask(case: EvalCase) -> Answer:
        return service.ask(case.question, history=case.history, provider=provider)

    results = evaluate(ask, service.index.embedder, cases, progress=progress, judge=judge)
    metrics: dict[str, Any] = dict(aggregate(results))
    metrics["splits"] = {part: aggregate([r for r in results if r.case.split == part]) for part in SPLITS}
    outcome = Outcome(out, metrics)
    if baseline is not None:
        if not baseline.is_file():
            raise ConfigurationError(f"baseline {baseline} not found: give the metrics.json of a saved run")
        saved = json.loads(baseline.read_text(encoding="utf-8"))
        current = {**metrics, "per_question": {r.case.id: {"correct": r.correct} for r in results}}
        outcome.comparisons = compare(current, saved)
        for part in SPLITS:
            saved_part = saved.get("splits", {}).get(part)
            if saved_part is not None:
                outcome.comparisons += compare(metrics["splits"][part], saved_part, part)
        outcome.regressions = right_to_wrong(current, saved)
    write_run(out, results, outcome.metrics, outcome.comparisons, outcome.regressions)
    return outcome
