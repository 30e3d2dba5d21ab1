"""Thumbs up / down on answers, kept in SQLite and exported as JSONL for review.

One row per rating: the question, the answer text, its citations (JSON), the provider
that answered, `up` or `down`, an optional comment and the UTC time. The schema
version lives in `PRAGMA user_version`; migrations only ever add.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

from assistant.settings import Settings

log = logging.getLogger(__name__)

Rating = Literal["up", "down"]
RATINGS: tuple[str, ...] = get_args(Rating)
MAX_COMMENT_CHARS = 2000

_MIGRATIONS = (
    """
    CREATE TABLE feedback (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        citations TEXT NOT NULL DEFAULT '[]',
        provider TEXT,
        rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
        comment TEXT
    )
    """,
)


@dataclass(frozen=True)
class FeedbackRecord:
    """One stored rating, as exported."""

    id: int
    question: str
    answer: str
    rating: str
    comment: str | None
    citations: list[dict[str, Any]]
    provider: str | None
    created_at: str


class FeedbackStore:
    """Ratings in one SQLite file; safe to share between threads (one connection per call)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._ready = False
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            self._migrate()
        connection = sqlite3.connect(self.path, timeout=30)
        try:
            with connection:
                yield connection
        finally:
            connection.close()

    def _migrate(self) -> None:
        with self._lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=30)
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                version = int(connection.execute("PRAGMA user_version").fetchone()[0])
                for number, statement in enumerate(_MIGRATIONS[version:], start=version + 1):
                    with connection:
                        connection.execute(statement)
                        connection.execute(f"PRAGMA user_version = {number}")
            finally:
                connection.close()
            self._ready = True

    def add(
        self,
        *,
        question: str,
        answer: str,
        rating: str,
        comment: str | None = None,
        citations: Sequence[Mapping[str, Any]] = (),
        provider: str | None = None,
    ) -> int:
        """Store one rating and return its id. `rating` is "up" or "down"."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be 'up' or 'down', not {rating!r}")
        comment = _clean_comment(comment)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._db() as db:
            cursor = db.execute(
                "INSERT INTO feedback (created_at, question, answer, citations, provider, rating, comment) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    now,
                    question,
                    answer,
                    json.dumps([dict(c) for c in citations], ensure_ascii=False),
                    provider,
                    rating,
                    comment,
                ),
            )
            row_id = cursor.lastrowid
        assert row_id is not None
        log.info("feedback %d stored (%s)", row_id, rating)
        return row_id

    def set_comment(self, feedback_id: int, comment: str | None) -> bool:
        """Attach (or replace) the comment of a stored rating; False when the id is unknown."""
        with self._db() as db:
            cursor = db.execute(
                "UPDATE feedback SET comment = ? WHERE id = ?", (_clean_comment(comment), feedback_id)
            )
            return cursor.rowcount == 1

    def records(self) -> Iterator[FeedbackRecord]:
        """Every stored rating, oldest first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT id, question, answer, rating, comment, citations, provider, created_at "
                "FROM feedback ORDER BY id"
            ).fetchall()
        for row in rows:
            yield FeedbackRecord(
                id=row[0],
                question=row[1],
                answer=row[2],
                rating=row[3],
                comment=row[4],
                citations=json.loads(row[5] or "[]"),
                provider=row[6],
                created_at=row[7],
            )

    def export_jsonl(self, out: Path) -> int:
        """Write every rating to `out`, one JSON object a line; returns how many."""
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        count = 0
        with out.open("w", encoding="utf-8") as handle:
            for record in self.records():
                handle.write(json.dumps(asdict(record), ensure_ascii=False) + "\n")
                count += 1
        return count


def export_feedback(settings: Settings, out: Path) -> int:
    """`iom-assistant feedback export --out FILE`: the configured store as JSONL."""
    return FeedbackStore(settings.feedback_db).export_jsonl(out)


def _clean_comment(comment: str | None) -> str | None:
    if comment is None:
        return None
    comment = comment.strip()[:MAX_COMMENT_CHARS]
    return comment or None


__all__ = ["RATINGS", "FeedbackRecord", "FeedbackStore", "Rating", "export_feedback"]
