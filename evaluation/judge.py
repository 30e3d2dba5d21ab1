"""An optional LLM judge: faithfulness and correctness of each answer, on a 1-5 scale.

Every other metric is computed without an LLM. When an OpenAI-compatible endpoint is
given (`iom-assistant eval --judge-url URL`), each answered, answerable question is shown
to the judge with the passages the answer cites and the reference answer; its two grades
are mapped to 0..1 (1 -> 0, 5 -> 1). A reply the judge does not grade in the asked format
counts as no grade (None), never as 0; the means are over the graded answers.
Judging is only as good as the judge: use a strong model, and read its grades beside the
lexical metrics, not instead of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answering.llm import ChatModel
from assistant.errors import ProviderError

PROMPT = """You grade the answer of a document assistant. Read the passages, the question, the
reference answer and the assistant's answer, then grade two things from 1 to 5.

faithfulness: 5 = every statement of the answer is stated in the passages; 1 = most are not.
correctness: 5 = the answer gives the facts of the reference answer; 1 = it does not answer.

Passages:
{passages}

Question: {question}
Reference answer: {reference}
Assistant's answer: {answer}

Reply with exactly two lines and nothing else:
faithfulness: <1-5>
correctness: <1-5>"""

_BARE = re.compile(r"([1-5])\s*\n\s*([1-5])")
_GRADE = {name: re.compile(rf"{name}\W*([1-5])\b", re.IGNORECASE) for name in ("faithfulness", "correctness")}


@dataclass(frozen=True)
class Verdict:
    """The judge's grades, each 0..1, or None when it gave none."""

    faithfulness: float | None
    correctness: float | None


def parse_verdict(reply: str) -> Verdict:
    """Read the two grades out of the judge's reply: labelled, or two bare grades in order."""
    grades: dict[str, float | None] = {}
    for name, pattern in _GRADE.items():
        match = pattern.search(reply)
        grades[name] = None if match is None else (int(match.group(1)) - 1) / 4
    bare = _BARE.fullmatch(reply.strip())
    if all(g is None for g in grades.values()) and bare:  # small models drop the labels
        grades = {"faithfulness": (int(bare.group(1)) - 1) / 4, "correctness": (int(bare.group(2)) - 1) / 4}
    return Verdict(**grades)


class Judge:
    """Grades answers with a chat model (one question at a time; 120 tokens per reply)."""

    def __init__(self, chat: ChatModel) -> None:
        self.chat = chat

    def grade(self, question: str, reference: str, answer: str, passages: Sequence[str]) -> Verdict:
        """The verdict on one answer; an endpoint failure is no verdict, not an error."""
        numbered = "\n".join(f"[{n}] {text}" for n, text in enumerate(passages, start=1)) or "(none)"
        prompt = PROMPT.format(passages=numbered, question=question, reference=reference, answer=answer)
        try:
            reply = "".join(self.chat.stream([("user", prompt)], max_tokens=120))
        except ProviderError:
            return Verdict(None, None)
        return parse_verdict(reply)
