"""What the refits (`fit_decision`, `fit_fusion`) share: the tuning part of a dataset named on the
command line, the version string their parameters files record, and a warm service that reads it
as `ask` does."""

from __future__ import annotations

import argparse
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from assistant.service import AssistantService
from assistant.settings import load_settings
from evaluation.dataset import EvalCase, load_dataset

DEFAULT_DATASET = Path("evaluation/datasets/iom-dev.jsonl")


@dataclass(frozen=True)
class TuningPart:
    """A dataset's tuning questions (follow-ups aside) and the service to read them with."""

    version: str  # "<file>@<sha256 prefix>, tuning part", recorded in the fitted file
    cases: list[EvalCase]
    service: AssistantService


def tuning_part(prog: str, description: str, argv: list[str] | None) -> TuningPart:
    """Parse `--dataset` and load its tuning part, with a warmed-up service over `INDEX_DIR`."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    digest = hashlib.sha256(args.dataset.read_bytes()).hexdigest()[:12]
    cases = [c for c in load_dataset(args.dataset) if c.split == "tune" and not c.history]
    service = AssistantService(load_settings())
    service.warm_up()
    return TuningPart(f"{args.dataset.name}@{digest}, tuning part", cases, service)
