"""Turn exported UI feedback into dataset lines for a person to complete."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.errors import ConfigurationError


def feedback_to_cases(feedback: Path, out: Path) -> int:
    """Write one draft case per thumbs-down with a comment; returns how many were written.

    The drafts carry the question, the comment, the answer given and the documents it
    cited; a person fills in the reference answer, short answers and gold sources (or
    marks the question unanswerable). Until then the dataset loader refuses the draft.
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
            question = str(item.get("question") or "")
            cited = [c.get("source_id") for c in item.get("citations") or [] if isinstance(c, dict)]
            case = {
                "id": f"fb-{written:03d}",
                "question": question,
                "answerable": True,
                "reference_answer": None,
                "short_answers": [],
                "gold_source_ids": [],
                "gold_evidence": [],
                "tags": ["from-feedback", "to-complete"],
                "language": "en",  # the person completing the draft corrects it if need be
                "feedback_comment": item.get("comment"),
                "answer_given": item.get("answer"),
                "cited_source_ids": list(dict.fromkeys(s for s in cited if s)),
            }
            handle.write(json.dumps(case, ensure_ascii=False) + "\n")
    return written
