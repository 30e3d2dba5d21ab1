"""The exceptions IOM Assistant raises on purpose.

    AssistantError
    ├── ConfigurationError      a setting is wrong or a needed extra is missing
    ├── ConversationError       a saved conversation is unknown, full, or given a bad name
    ├── DocumentError           one file cannot be read (ingest records it and goes on)
    ├── IndexUnavailableError  the index is missing, empty or built with another model
    ├── InvalidQuestionError    a question the service will not take (empty, too long)
    └── ProviderError           the answering backend failed (down, slow, garbage)

Every message names the bad value and says how to fix it. Only the CLI and
`ui/` turn these into exit codes, HTTP 4xx or `gr.Error`.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: an expected failure with a message meant for people."""


class ConfigurationError(AssistantError):
    """A setting has a bad value, or an optional extra it needs is not installed."""


class ConversationError(AssistantError):
    """A saved conversation cannot be read or changed as asked; nothing stored changes.

    `problem` says which, for the chat to say in its own words: `unknown` (not the caller's, or
    deleted), `too_many_conversations`, `too_many_answers`, `bad_name`, `bad_answer`; `limit` is
    the bound that was hit, if any.
    """

    def __init__(self, problem: str, detail: str, limit: int | None = None) -> None:
        super().__init__(detail)
        self.problem = problem
        self.limit = limit


class DocumentError(AssistantError):
    """A single document could not be loaded; the rest of the corpus is unaffected."""


class IndexUnavailableError(AssistantError):
    """The index cannot serve: missing, empty, or built with a different embedding model."""


class InvalidQuestionError(AssistantError):
    """The question cannot be answered as asked (empty, too long, unprintable)."""


class ProviderError(AssistantError):
    """The answering backend failed; callers fall back to the extractive answer."""
