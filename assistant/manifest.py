"""The manifest: which files the index holds, by content hash, in a SQLite file.

Ingest writes it; the service reads it to find a source's original file. Each entry
is written only after the store holds that file's chunks, and a `pending` entry is
written before the store is touched, so a run killed at any point leaves enough
behind for the next run to converge (see ingest/pipeline.py).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.access import GROUP_SEPARATOR

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    source_id   TEXT PRIMARY KEY,
    root        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    status      TEXT NOT NULL,          -- 'pending' while being written, then 'indexed'
    chunks      INTEGER NOT NULL DEFAULT 0,
    pages       INTEGER,
    title       TEXT,
    updated_at  REAL NOT NULL,
    groups      TEXT NOT NULL DEFAULT '', -- who may read it (assistant/access.py), comma-separated
    relative    TEXT NOT NULL DEFAULT ''  -- its path inside root (the source id, unless two roots hold it)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class ManifestEntry:
    """What the index holds for one source file."""

    source_id: str
    root: str
    sha256: str
    size: int
    status: str
    chunks: int
    pages: int | None
    title: str | None
    groups: tuple[str, ...] = ()  # who may read it; none: everyone
    relative: str = ""  # its path inside root, with /; empty: the same as source_id

    @property
    def path(self) -> Path:
        """The original file."""
        return Path(self.root) / (self.relative or self.source_id)


_COLUMNS = "source_id, root, sha256, size, status, chunks, pages, title, groups, relative"


def _entry(row: tuple[Any, ...]) -> ManifestEntry:
    source_id, root, sha256, size, status, chunks, pages, title, groups, relative = row
    readers = tuple(groups.split(GROUP_SEPARATOR)) if groups else ()
    return ManifestEntry(source_id, root, sha256, size, status, chunks, pages, title, readers, relative)


COMPLETE = "complete"  # meta key: "1" once an ingest run has finished, "0" while one runs or was cut short


class Manifest:
    """A small SQLite table of indexed files; every write is its own transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(_SCHEMA)
            if _missing_columns(conn):
                with _transaction(conn):  # a manifest of an older release gains its new columns
                    missing = _missing_columns(conn)  # again: another process may have added them
                    if "groups" in missing:  # written before access files
                        conn.execute("ALTER TABLE files ADD COLUMN groups TEXT NOT NULL DEFAULT ''")
                    if "relative" in missing:  # written when a source id was always its path in its root
                        conn.execute("ALTER TABLE files ADD COLUMN relative TEXT NOT NULL DEFAULT ''")
                        conn.execute("UPDATE files SET relative = source_id")
            self._conn = conn
        return self._conn

    def close(self) -> None:
        """Close the database connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        with _transaction(db):
            yield db

    def get_meta(self, key: str) -> str | None:
        """A manifest-wide value (store identity, pipeline version)."""
        row = self._db().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a manifest-wide value."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def entries(self) -> dict[str, ManifestEntry]:
        """Every entry by source id."""
        rows = self._db().execute(f"SELECT {_COLUMNS} FROM files").fetchall()
        return {r[0]: _entry(r) for r in rows}

    def get(self, source_id: str) -> ManifestEntry | None:
        """One entry, or None."""
        row = (
            self._db()
            .execute(
                f"SELECT {_COLUMNS} FROM files WHERE source_id = ?",
                (source_id,),
            )
            .fetchone()
        )
        return None if row is None else _entry(row)

    def mark_pending(self, source_id: str, root: str, relative: str, sha256: str, size: int) -> None:
        """Record, before the store is touched, that this source is being (re)written."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO files (source_id, root, relative, sha256, size, status, updated_at) "
                "VALUES (?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT(source_id) DO UPDATE SET "
                "root = excluded.root, relative = excluded.relative, status = 'pending', "
                "updated_at = excluded.updated_at",
                (source_id, root, relative, sha256, size, time.time()),
            )

    def mark_indexed(self, entry: ManifestEntry) -> None:
        """Record that the store now holds exactly this version of the source."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO files "
                "(source_id, root, relative, sha256, size, status, chunks, pages, title, groups, updated_at) "
                "VALUES (?, ?, ?, ?, ?, 'indexed', ?, ?, ?, ?, ?)",
                (
                    entry.source_id,
                    entry.root,
                    entry.relative or entry.source_id,
                    entry.sha256,
                    entry.size,
                    entry.chunks,
                    entry.pages,
                    entry.title,
                    GROUP_SEPARATOR.join(entry.groups),
                    time.time(),
                ),
            )

    def set_groups(self, source_id: str, groups: tuple[str, ...]) -> None:
        """Record who may read a source whose chunks were relabelled."""
        with self._tx() as db:
            db.execute(
                "UPDATE files SET groups = ?, updated_at = ? WHERE source_id = ?",
                (GROUP_SEPARATOR.join(groups), time.time(), source_id),
            )

    def remove(self, source_id: str) -> None:
        """Forget a source (after its chunks left the store)."""
        with self._tx() as db:
            db.execute("DELETE FROM files WHERE source_id = ?", (source_id,))

    def clear(self) -> None:
        """Forget everything (rebuild, or the manifest described another store), in one step that
        leaves the index marked incomplete (COMPLETE) until a run ends."""
        with self._tx() as db:
            db.execute("DELETE FROM files")
            db.execute("DELETE FROM meta")
            db.execute("INSERT INTO meta (key, value) VALUES (?, '0')", (COMPLETE,))


def _missing_columns(db: sqlite3.Connection) -> set[str]:
    columns = {row[1] for row in db.execute("PRAGMA table_info(files)")}
    return {"groups", "relative"} - columns


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
