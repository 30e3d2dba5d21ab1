"""The evaluation dataset: JSONL, one question a line (schema in DESIGN.md)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from assistant.errors import ConfigurationError

Split = Literal["tune", "test"]
SPLITS: tuple[Split, ...] = ("tune", "test")


def split_of(case_id: str) -> Split:
    """The part a question belongs to, fixed by a hash of its id: about a third is the frozen
    test part, never used to choose or fit anything; the rest is the tuning part."""
    return "test" if hashlib.sha256(case_id.encode("utf-8")).digest()[0] % 3 == 0 else "tune"


@dataclass(frozen=True)
class Evidence:
    """A quote from a gold source that supports the reference answer."""

    source_id: str
    quote: str


@dataclass(frozen=True)
class EvalCase:
    """One evaluation question with what a correct answer must contain."""

    id: str
    question: str
    answerable: bool
    reference_answer: str | None
    short_answers: tuple[tuple[str, ...], ...]
    gold_source_ids: tuple[str, ...]
    gold_evidence: tuple[Evidence, ...] = ()
    tags: tuple[str, ...] = ()
    language: str = "en"
    history: tuple[tuple[str, str], ...] = field(default=())

    @property
    def split(self) -> Split:
        """ "tune" or "test" (see `split_of`)."""
        return split_of(self.id)


def _case(line: dict[str, object], where: str) -> EvalCase:
    try:
        answerable = bool(line["answerable"])
        case = EvalCase(
            id=str(line["id"]),
            question=str(line["question"]),
            answerable=answerable,
            reference_answer=None if line.get("reference_answer") is None else str(line["reference_answer"]),
            short_answers=tuple(tuple(str(a) for a in group) for group in line.get("short_answers") or []),  # type: ignore[attr-defined]
            gold_source_ids=tuple(str(s) for s in line.get("gold_source_ids") or []),  # type: ignore[attr-defined]
            gold_evidence=tuple(
                Evidence(str(e["source_id"]), str(e["quote"]))
                for e in line.get("gold_evidence") or []  # type: ignore[attr-defined]
            ),
            tags=tuple(str(t) for t in line.get("tags") or []),  # type: ignore[attr-defined]
            language=str(line.get("language") or "en"),
            history=tuple(
                (str(turn["role"]), str(turn["content"]))
                for turn in line.get("history") or []  # type: ignore[attr-defined]
            ),
        )
    except (KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"{where}: missing or malformed field {exc}; see the schema in DESIGN.md"
        ) from exc
    if answerable and not (case.short_answers and case.gold_source_ids):
        raise ConfigurationError(f"{where}: an answerable question needs short_answers and gold_source_ids")
    return case


def load_dataset(path: Path) -> list[EvalCase]:
    """Read and check a dataset file; errors name the line and the problem."""
    if not path.is_file():
        raise ConfigurationError(f"dataset {path} not found: give a JSONL file with --dataset")
    cases: list[EvalCase] = []
    seen: set[str] = set()
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{path}:{number}"
        try:
            line = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"{where}: not valid JSON ({exc.msg})") from exc
        case = _case(line, where)
        if case.id in seen:
            raise ConfigurationError(f"{where}: duplicate id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    if not cases:
        raise ConfigurationError(f"dataset {path} has no questions")
    return cases


def source_matches(gold: str, source_id: str) -> bool:
    """DESIGN.md rule: equal, or a gold id without '/' equal to the source's base name."""
    return gold == source_id or ("/" not in gold and source_id.rsplit("/", 1)[-1] == gold)
