"""Turn exported UI feedback into dataset lines for a person to complete."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.errors import ConfigurationError


def feedback_to_cases(feedback: Path, out: Path) -> int:
    """Write one draft case per thumbs-down with a comment; returns how many were written.

    The drafts carry the question and the comment; a person fills in the reference
    answer, short answers and gold sources (or marks the question unanswerable).
    """
    if not feedback.is_file():
        raise ConfigurationError(
            f"feedback file {feedback} not found: export it with `iom-assistant feedback export`"
        )
    written = 0
    with out.open("w", encoding="utf-8") as handle:
        for number, raw in enumerate(feedback.read_text(encoding="utf-8").splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigurationError(f"{feedback}:{number}: not valid JSON ({exc.msg})") from exc
            if item.get("rating") != "down" or not str(item.get("comment") or "").strip():
                continue
            written += 1
            case = {
                "id": f"fb-{written:03d}",
                "question": item.get("question", ""),
                "answerable": True,
                "reference_answer": None,
                "short_answers": [],
                "gold_source_ids": [],
                "gold_evidence": [],
                "tags": ["from-feedback", "to-complete"],
                "language": "en",
                "feedback_comment": item.get("comment"),
                "answer_given": item.get("answer"),
            }
            handle.write(json.dumps(case, ensure_ascii=False) + "\n")
    return written
