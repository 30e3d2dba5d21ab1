"""The English sentences the service says besides the documents' own: the refusal, its reasons,
the notices attached to an answer, and what is wrong with a question it cannot ask.

Each has a stable key, so a front end can say it in another language (`ui/i18n.py` reads the
keys; `ui/messages/*.json` hold the translations). The API and the CLI say them in English.
Placeholders are `str.format` fields: `{count}`, `{entities}`.
"""

from __future__ import annotations

from assistant.answer import REFUSAL_TEXT
from assistant.answering.facts import STATED
from assistant.question import QUESTION_TEXTS

SERVICE_TEXTS: dict[str, str] = {
    "refusal": REFUSAL_TEXT,
    "reason.unread": (
        "Half of the question's words or more ({entities}) are not in the documents and could not be "
        "translated: please ask in English, French, Spanish or Albanian."
    ),
    "reason.unknown": "The documents do not mention {entities}.",
    "reason.disagreeing": "The passages closest to the question do not mention {entities}.",
    **{
        f"reason.{kind}": f"The passages closest to the question do not state {fact} that answers it."
        for kind, fact in STATED.items()
    },
    "reason.none": "No passage states an answer to the question.",
    "notice.closest_listed": "The closest passages found are listed under the sources.",
    "notice.sentences_removed": "{count} sentence(s) removed: the cited documents do not support them.",
    "notice.citations_dropped": "{count} citation(s) to no source were dropped.",
    "notice.llm_unavailable_follow_up": "The language model is unavailable; follow-up resolved without it.",
    "notice.llm_no_answer": "The language model found no answer; showing the best matching sentences.",
    "notice.llm_unverified": (
        "The language model's answer could not be verified against the documents; "
        "showing the sentences that answer it from the documents instead."
    ),
    "notice.llm_failed": (
        "The language model is unavailable or too slow; this answer was extracted from the documents."
    ),
    "notice.llm_empty": "The language model returned nothing; this answer was extracted from the documents.",
    **QUESTION_TEXTS,
}


def service_text(key: str, **params: object) -> str:
    """The English sentence `key`, its placeholders filled."""
    return SERVICE_TEXTS[key].format(**params)
