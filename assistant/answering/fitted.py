"""Small logistic models fitted on the tuning part of the development set, stored as JSON beside
this module and refitted by one command: `python -m evaluation.fit_decision`. Today one:
`decision.json`, how likely the documents are to answer at all (it decides refusals).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

DECISION = "decision.json"
REFIT = "python -m evaluation.fit_decision"


@dataclass(frozen=True)
class LogisticModel:
    """Logistic regression over standardised features."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    means: tuple[float, ...]
    scales: tuple[float, ...]
    threshold: float  # a probability at or above it counts as yes
    version: str

    def logit(self, values: Sequence[float]) -> float:
        """The model's log-odds for one row of feature values, in the order of `features`."""
        return self.bias + sum(
            w * (x - m) / s for w, x, m, s in zip(self.weights, values, self.means, self.scales, strict=True)
        )

    def probability(self, values: Sequence[float]) -> float:
        """The model's probability for one row of feature values."""
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, self.logit(values)))))


@cache
def load_model(name: str, features: tuple[str, ...]) -> LogisticModel:
    """A fitted model shipped with the package; it must have been fitted on `features`."""
    raw = json.loads(resources.files("assistant.answering").joinpath(name).read_text("utf-8"))
    if tuple(raw["features"]) != features:
        raise ValueError(
            f"{name} was fitted on features {raw['features']}, not {list(features)}; run {REFIT}"
        )
    return LogisticModel(
        features=features,
        weights=tuple(raw["weights"]),
        bias=float(raw["bias"]),
        means=tuple(raw["means"]),
        scales=tuple(raw["scales"]),
        threshold=float(raw.get("threshold", 0.5)),
        version=str(raw["version"]),
    )
