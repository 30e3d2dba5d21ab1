"""Saved conversations: each owner's past conversations in the chat, kept in SQLite beside the
feedback. (`assistant/conversation.py` is another thing: it makes a follow-up standalone.)

An owner is an opaque name the UI gives (`ui/owner.py`: a signed-in user, or an anonymous
browser). Every read and change names its owner, and another owner's conversation is, to the
caller, unknown. A saved answer keeps what the chat showed: the question, the answer text with
its `[n]` markers, whether it was a refusal, its citations exactly as given (JSON), its notices,
the passages the sources panel showed, the provider, and the API's answer id when it had one.
Each saved answer has an unguessable id, its permalink (`ui/permalink.py`).

Bounds: at most MAX_CONVERSATIONS per owner, MAX_ANSWERS per conversation and MAX_ANSWER_BYTES
per answer; past them `ConversationError` and nothing is stored. Retention: a conversation
untouched for `retention_days` is deleted with its answers, when the store opens and on every
save (0: kept until its owner deletes it).

The schema version is `PRAGMA user_version`; migrations only ever add, and a file written by a
newer version is refused, never changed. Over 300 lines: the schema, its limits and the check of
what is written are one job, read together.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from assistant.errors import ConfigurationError, ConversationError
from assistant.question import MAX_MESSAGE_CHARS
from assistant.settings import Settings
from assistant.text import shorten

log = logging.getLogger(__name__)
MAX_CONVERSATIONS = 200  # per owner
MAX_ANSWERS = 200  # per conversation
MAX_TITLE_CHARS = 120
MAX_ANSWER_BYTES = 512 * 1024  # one answer with its citations and passages, as JSON
TITLE_FROM_QUESTION_CHARS = 80
_ID = re.compile(r"[A-Za-z0-9_-]{22}")  # secrets.token_urlsafe(16): 128 random bits
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_SPACES = re.compile(r"\s+")

_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE conversation (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            title TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """,
        "CREATE INDEX conversation_by_owner ON conversation (owner, updated_at)",
        "CREATE INDEX conversation_by_age ON conversation (updated_at)",
        """
        CREATE TABLE saved_answer (
            id TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            refused INTEGER NOT NULL CHECK (refused IN (0, 1)),
            citations TEXT NOT NULL DEFAULT '[]',
            notices TEXT NOT NULL DEFAULT '[]',
            passages TEXT NOT NULL DEFAULT '[]',
            provider TEXT,
            answer_id TEXT,
            UNIQUE (conversation_id, position)
        )
        """,
    ),
)
_ANSWER_COUNT = "SELECT count(*) FROM saved_answer WHERE conversation_id = ?"
_CONVERSATION = (  # a conversation with its number of answers
    "SELECT c.id, c.title, c.created_at, c.updated_at, "
    "(SELECT count(*) FROM saved_answer a WHERE a.conversation_id = c.id) FROM conversation c "
)
_ANSWER_COLUMNS = (
    "id, conversation_id, position, created_at, question, answer, refused, citations, notices, "
    "passages, provider, answer_id"
)


@dataclass(frozen=True)
class SavedConversation:
    """One conversation of an owner's list."""

    id: str
    title: str
    created_at: str
    updated_at: str
    answers: int


@dataclass(frozen=True)
class SavedAnswer:
    """One answer as the chat showed it; `id` is its permalink's."""

    id: str
    conversation_id: str
    position: int
    created_at: str
    question: str
    answer: str
    refused: bool
    citations: list[dict[str, Any]]
    notices: list[str]
    passages: list[dict[str, Any]]
    provider: str | None
    answer_id: str | None

    def sources(self) -> set[str]:
        """The documents the answer shows: those it cites and those of its passages."""
        return {str(c["source_id"]) for c in self.citations} | {str(p["source_id"]) for p in self.passages}

    def answer_object(self) -> dict[str, Any]:
        """The answer object as the chat holds it (the API's, its passages as `retrieved`)."""
        return {
            "answer": self.answer,
            "refused": self.refused,
            "citations": self.citations,
            "retrieved": self.passages,
            "notices": self.notices,
            "provider": self.provider,
            "question": self.question,
            "answer_id": self.answer_id or "",
        }


class ConversationStore:
    """Saved conversations in one SQLite file; safe to share between threads and processes."""

    def __init__(self, path: Path, retention_days: int = 90) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        self._ready = False
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> ConversationStore:
        """The store CONVERSATIONS_DB (else beside FEEDBACK_DB) names, with its retention."""
        return cls(settings.conversations_path, settings.conversation_retention_days)

    # -- reading ----------------------------------------------------------------------------

    def conversations(self, owner: str) -> list[SavedConversation]:
        """The owner's conversations, the latest used first."""
        with self._db() as db:
            order = "ORDER BY c.updated_at DESC, c.rowid DESC"
            rows = db.execute(f"{_CONVERSATION} WHERE c.owner = ? {order}", (owner,)).fetchall()
        return [SavedConversation(*row) for row in rows]

    def conversation(self, owner: str, conversation_id: str) -> SavedConversation:
        """One of the owner's conversations (ConversationError when it is not theirs)."""
        with self._db() as db:
            return self._owned(db, owner, conversation_id)

    def answers(self, owner: str, conversation_id: str) -> list[SavedAnswer]:
        """The answers of one of the owner's conversations, in the order they were given."""
        with self._db() as db:
            self._owned(db, owner, conversation_id)
            rows = db.execute(
                f"SELECT {_ANSWER_COLUMNS} FROM saved_answer WHERE conversation_id = ? ORDER BY position",
                (conversation_id,),
            ).fetchall()
        return [_answer(row) for row in rows]

    def shared_answer(self, answer_id: str) -> SavedAnswer | None:
        """The answer a permalink names, whoever saved it (the caller checks who may read it)."""
        if not _ID.fullmatch(answer_id):
            return None
        with self._db() as db:
            return _answer_by_id(db, answer_id)

    # -- changing ---------------------------------------------------------------------------

    def save_answer(
        self,
        owner: str,
        conversation_id: str | None,
        answer: Mapping[str, Any],
        passages: Sequence[Mapping[str, Any]] = (),
    ) -> SavedAnswer:
        """Add an answer (the answer object, with its `question`) to the owner's conversation, or,
        when `conversation_id` is None, to a new one named after the question."""
        fields = _answer_fields(answer, passages)
        now = _timestamp(datetime.now(UTC))
        with self._write() as db:
            if conversation_id is None:
                count = _count(db, "SELECT count(*) FROM conversation WHERE owner = ?", owner)
                if count >= MAX_CONVERSATIONS:
                    raise ConversationError(
                        "too_many_conversations",
                        f"{count} saved conversations, the most kept: delete one to save new ones",
                        MAX_CONVERSATIONS,
                    )
                conversation_id = _new_id()
                title = shorten(_CONTROL.sub(" ", fields["question"]), TITLE_FROM_QUESTION_CHARS)
                db.execute(
                    "INSERT INTO conversation (id, owner, title, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (conversation_id, owner, title, now, now),
                )
            else:
                self._owned(db, owner, conversation_id)
            position = _count(db, _ANSWER_COUNT, conversation_id)
            if position >= MAX_ANSWERS:
                raise ConversationError(
                    "too_many_answers",
                    f"the conversation holds {position} answers, the most kept: start a new conversation",
                    MAX_ANSWERS,
                )
            answer_key = _new_id()
            db.execute(  # the fields in the order of _ANSWER_COLUMNS
                f"INSERT INTO saved_answer ({_ANSWER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (answer_key, conversation_id, position, now, *fields.values()),
            )
            db.execute("UPDATE conversation SET updated_at = ? WHERE id = ?", (now, conversation_id))
            self._forget_expired(db)
            saved = _answer_by_id(db, answer_key)
        assert saved is not None
        return saved

    def rename(self, owner: str, conversation_id: str, title: str) -> SavedConversation:
        """Give one of the owner's conversations a new name (1 to MAX_TITLE_CHARS characters)."""
        clean = _SPACES.sub(" ", _CONTROL.sub(" ", title)).strip()
        if not clean or len(clean) > MAX_TITLE_CHARS:
            raise ConversationError(
                "bad_name", f"a conversation's name needs 1 to {MAX_TITLE_CHARS} characters", MAX_TITLE_CHARS
            )
        with self._write() as db:
            self._owned(db, owner, conversation_id)
            db.execute("UPDATE conversation SET title = ? WHERE id = ?", (clean, conversation_id))
            return self._owned(db, owner, conversation_id)

    def delete(self, owner: str, conversation_id: str) -> None:
        """Delete one of the owner's conversations and its answers (their permalinks stop working)."""
        with self._write() as db:
            self._owned(db, owner, conversation_id)
            db.execute("DELETE FROM saved_answer WHERE conversation_id = ?", (conversation_id,))
            db.execute("DELETE FROM conversation WHERE id = ?", (conversation_id,))
        log.info("saved conversation deleted by its owner")

    def forget_expired(self, now: datetime | None = None) -> int:
        """Delete the conversations untouched for `retention_days` (none when 0); how many."""
        with self._write() as db:
            return self._forget_expired(db, now)

    # -- the file ---------------------------------------------------------------------------

    def _forget_expired(self, db: sqlite3.Connection, now: datetime | None = None) -> int:
        if not self.retention_days:
            return 0
        cutoff = _timestamp((now or datetime.now(UTC)) - timedelta(days=self.retention_days))
        old = "SELECT id FROM conversation WHERE updated_at < ?"
        db.execute(f"DELETE FROM saved_answer WHERE conversation_id IN ({old})", (cutoff,))
        forgotten = db.execute("DELETE FROM conversation WHERE updated_at < ?", (cutoff,)).rowcount
        if forgotten:
            log.info("%d saved conversations untouched for %d days deleted", forgotten, self.retention_days)
        return forgotten

    def _owned(self, db: sqlite3.Connection, owner: str, conversation_id: str) -> SavedConversation:
        query = f"{_CONVERSATION} WHERE c.id = ? AND c.owner = ?"
        row = db.execute(query, (conversation_id, owner)).fetchone()
        if row is None:
            raise ConversationError("unknown", "no such conversation: it was deleted, or it is not yours")
        return SavedConversation(*row)

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            self._migrate()
        connection = _connect(self.path)
        try:
            yield connection
        finally:
            connection.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction that holds the write lock from its start (limits are checked inside)."""
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = _connect(self.path)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("BEGIN IMMEDIATE")  # another process may be migrating the same file
                version = int(db.execute("PRAGMA user_version").fetchone()[0])
                if version > len(_MIGRATIONS):
                    db.execute("ROLLBACK")
                    raise ConfigurationError(
                        f"{self.path} holds saved conversations of a newer IOM Assistant (schema {version}, "
                        f"this one knows {len(_MIGRATIONS)}): upgrade, or set "
                        "IOM_ASSISTANT_CONVERSATIONS_DB to another file"
                    )
                for number, statements in enumerate(_MIGRATIONS[version:], start=version + 1):
                    for statement in statements:
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version = {number}")
                self._forget_expired(db)
                db.execute("COMMIT")
            finally:
                db.close()
            self._ready = True


def _connect(path: Path) -> sqlite3.Connection:
    """A connection that leaves transactions to us (BEGIN IMMEDIATE ... COMMIT)."""
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    return connection


def _answer_fields(answer: Mapping[str, Any], passages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The columns of an answer, checked: a bad one is refused whole, before anything is written."""
    question, text = answer.get("question"), answer.get("answer")
    citations, notices = answer.get("citations", []), answer.get("notices", [])
    problems = []
    if not isinstance(question, str) or not question.strip() or len(question) > MAX_MESSAGE_CHARS:
        problems.append(f"a question of 1 to {MAX_MESSAGE_CHARS} characters")
    if not isinstance(text, str):
        problems.append("the answer's text")
    if not isinstance(citations, list) or not all(_citation(c) for c in citations):
        problems.append("citations each with a number `n` and a `source_id`")
    if not isinstance(notices, list) or not all(isinstance(n, str) for n in notices):
        problems.append("notices as text")
    if not all(isinstance(p, Mapping) and isinstance(p.get("source_id"), str) for p in passages):
        problems.append("passages each with a `source_id`")
    if problems:
        raise ConversationError("bad_answer", "not saved: the answer needs " + "; ".join(problems))
    provider, answer_id = answer.get("provider"), answer.get("answer_id")
    fields = {
        "question": question,
        "answer": text,
        "refused": int(bool(answer.get("refused"))),
        "citations": json.dumps(citations, ensure_ascii=False),
        "notices": json.dumps(notices, ensure_ascii=False),
        "passages": json.dumps([dict(p) for p in passages], ensure_ascii=False, default=str),
        "provider": str(provider)[:50] if provider else None,
        "answer_id": str(answer_id)[:64] if answer_id else None,
    }
    size = sum(len(str(v).encode()) for v in fields.values())
    if size > MAX_ANSWER_BYTES:
        raise ConversationError(
            "bad_answer", f"not saved: the answer takes {size} bytes, more than {MAX_ANSWER_BYTES}"
        )
    return fields


def _citation(citation: object) -> bool:
    return (
        isinstance(citation, dict)
        and isinstance(citation.get("n"), int)
        and isinstance(citation.get("source_id"), str)
    )


def _count(db: sqlite3.Connection, query: str, value: str) -> int:
    return int(db.execute(query, (value,)).fetchone()[0])


def _answer_by_id(db: sqlite3.Connection, answer_id: str) -> SavedAnswer | None:
    row = db.execute(f"SELECT {_ANSWER_COLUMNS} FROM saved_answer WHERE id = ?", (answer_id,)).fetchone()
    return _answer(row) if row else None


def _answer(row: tuple[Any, ...]) -> SavedAnswer:
    citations, notices, passages = (json.loads(row[i]) for i in (7, 8, 9))  # as in _ANSWER_COLUMNS
    key, conversation_id, position, created_at, question, text, refused = row[:7]
    return SavedAnswer(
        key, conversation_id, position, created_at, question, text, bool(refused), citations, notices,
        passages, row[10], row[11],
    )  # fmt: skip


def _new_id() -> str:
    return secrets.token_urlsafe(16)


def _timestamp(moment: datetime) -> str:
    # Microseconds, so the latest conversation sorts first even within one second.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


__all__ = [
    "MAX_ANSWERS",
    "MAX_CONVERSATIONS",
    "MAX_TITLE_CHARS",
    "ConversationStore",
    "SavedAnswer",
    "SavedConversation",
]
