"""Dense search over one vector file per host, memory-mapped by every replica (DENSE_VECTORS=shared).

With `DENSE_VECTORS=memory` each server process copies every chunk vector out of Chroma into a
matrix of its own (`assistant/dense.py`): N replicas on a host hold N copies (1.5 GB each at a
million chunks) and each start reads them all from Chroma again. Here the vectors live once, in
files under `<INDEX_DIR>/vectors/`, which the replicas map read-only: the operating system keeps
one copy in its page cache, shared by all of them, and a replica starts by mapping it.

Files (an *epoch* is one generation of the data files; compaction starts the next one):

    header.json          {format, model, dimensions, epoch, rows, dead, id_width}, replaced whole
    rows-<epoch>.f32     float32 rows, `dimensions` each, append-only
    ids-<epoch>.bin      the chunk id of each row, `id_width` bytes, NUL-padded, append-only
    dead-<epoch>.i64     row numbers of removed chunks (tombstones), append-only
    write.lock           held (flock) by the one process writing

Crash safety: a writer appends rows, ids and tombstones past the counts the header publishes,
fsyncs them, and only then publishes the new counts by replacing `header.json` (os.replace of
a fsynced temporary file). Readers read only what the header counts, so an append cut short is
never seen, and the next writer truncates the files back to the published counts before it
appends. Compaction (once a third of the rows are dead) writes the next epoch's files whole,
publishes them, then unlinks the old ones; a reader that still maps them keeps a valid mapping.

Who writes: ingest, which writes Chroma, brings the file in step with the store just before it
marks the store changed (so a replica that sees the mark finds the file ready); and a replica
that finds the file missing or behind (another host's ingest, a new host) catches it up from
Chroma itself, if no other process is writing. Whatever the file lacks, a replica reads from
Chroma into a small in-memory `DenseIndex` of its own, so it always answers from every chunk.

Over 300 lines on purpose: the file's format, its writer and its readers change together, and the
crash-safe order of writes and publication is checked by reading both sides in one place.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import mmap
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.dense import DenseIndex, best_rows

if TYPE_CHECKING:
    from assistant.store import ChromaStore

log = logging.getLogger(__name__)

FOLDER = "vectors"  # under the index folder
FORMAT = 1
_HEADER = "header.json"
_LOCK = "write.lock"
_MIN_ID_WIDTH = 32  # chunk ids are 32 hex digits
_BATCH = 5000  # vectors read from the store at a time


@dataclass(frozen=True)
class Header:
    """What `header.json` publishes: which files, and how much of them readers may read."""

    model: str
    dimensions: int  # 0 until the first row
    epoch: int
    rows: int
    dead: int
    id_width: int
    format: int = FORMAT

    def path(self, folder: Path, kind: str) -> Path:
        """One of the epoch's files: kind is rows, ids or dead."""
        suffix = {"rows": "f32", "ids": "bin", "dead": "i64"}[kind]
        return folder / f"{kind}-{self.epoch}.{suffix}"


def read_header(folder: Path) -> Header | None:
    """The published header, or None when there is none, it cannot be read, or it is not ours
    (os.replace never leaves half a header: an unreadable one is a foreign file or folder)."""
    try:
        data = json.loads((folder / _HEADER).read_text(encoding="utf-8"))
        header = Header(**data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        log.warning("vector file header %s unreadable (%s): ignored", folder / _HEADER, exc)
        return None
    return header if header.format == FORMAT else None


class VectorFile:
    """The writing side: brings the files in step with the store, one writer at a time."""

    def __init__(self, folder: Path, model: str) -> None:
        self.folder = folder
        self.model = model

    def catch_up(self, store: ChromaStore, wait: bool = True) -> bool:
        """Append the store's chunks the file lacks and tombstone those the store no longer has.

        Returns False, without waiting, when `wait` is false and another process is writing.
        """
        with self._locked(wait) as locked:
            if not locked:
                return False
            header = self._current()
            alive = self._alive_ids(header)
            stored = store.all_ids()
            gone = [row for chunk_id, row in alive.items() if chunk_id not in stored]
            new = sorted(stored - alive.keys())
            if gone:
                header = self._tombstone(header, gone)
                self._publish(header)
            for start in range(0, len(new), _BATCH):
                vectors = store.vectors(new[start : start + _BATCH])
                if vectors:
                    header = self._append(header, list(vectors), np.stack(list(vectors.values())))
                    self._publish(header)
            header = self._compact_if_sparse(header)
            log.info("vector file %s: +%d -%d, %d rows", self.folder, len(new), len(gone), header.rows)
            return True

    def write(self, vectors: Mapping[str, np.ndarray], removed: Iterable[str] = ()) -> None:
        """Append vectors and tombstone chunk ids directly (benchmarks and tests; ingest uses
        `catch_up`)."""
        with self._locked(True):
            header = self._current()
            alive = self._alive_ids(header)
            dead = [alive[i] for i in {*removed, *vectors} if i in alive]
            if dead:
                header = self._tombstone(header, dead)
            if vectors:
                header = self._append(header, list(vectors), np.stack(list(vectors.values())))
            self._publish(header)
            self._compact_if_sparse(header)

    # -- steps ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, wait: bool) -> Iterator[bool]:
        """The write lock: True once held; False without waiting when another process holds it,
        or when this process may not write the folder (a replica then reads Chroma instead)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle = (self.folder / _LOCK).open("a")
        except OSError as exc:
            if wait:
                raise
            log.warning(
                "vector file %s not writable here (%s): reading vectors from the store", self.folder, exc
            )
            yield False
            return
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _current(self) -> Header:
        """The published header; a fresh epoch when there is none or it is of another model."""
        header = read_header(self.folder)
        if header is not None and header.model == self.model:
            return header
        epoch = header.epoch + 1 if header is not None else 0
        return Header(model=self.model, dimensions=0, epoch=epoch, rows=0, dead=0, id_width=_MIN_ID_WIDTH)

    def _alive_ids(self, header: Header) -> dict[str, int]:
        ids = _read_ids(header, self.folder, 0, header.rows)
        dead = set(_read_dead(header, self.folder, 0, header.dead).tolist())
        return {chunk_id: row for row, chunk_id in enumerate(ids) if row not in dead}

    def _append(self, header: Header, ids: list[str], block: np.ndarray) -> Header:
        block = np.ascontiguousarray(block, dtype=np.float32)
        if header.dimensions == 0:
            header = replace(header, dimensions=block.shape[1])
        elif block.shape[1] != header.dimensions:
            raise ValueError(f"vectors of {block.shape[1]} dimensions in a file of {header.dimensions}")
        width = max(len(i.encode()) for i in ids)
        if width > header.id_width:  # rewrite the ids wider: a new epoch
            header = self._compact(header, width)
        encoded = np.array([i.encode() for i in ids], dtype=f"S{header.id_width}")
        _append_bytes(header.path(self.folder, "rows"), header.rows * header.dimensions * 4, block.tobytes())
        _append_bytes(header.path(self.folder, "ids"), header.rows * header.id_width, encoded.tobytes())
        return replace(header, rows=header.rows + len(ids))

    def _tombstone(self, header: Header, rows: Sequence[int]) -> Header:
        data = np.asarray(sorted(rows), dtype=np.int64).tobytes()
        _append_bytes(header.path(self.folder, "dead"), header.dead * 8, data)
        return replace(header, dead=header.dead + len(rows))

    def _compact_if_sparse(self, header: Header) -> Header:
        """Compact once more than a third of the rows are dead (as DenseIndex does)."""
        if header.rows > 1000 and header.dead > header.rows / 3:
            return self._compact(header, header.id_width)
        return header

    def _compact(self, header: Header, id_width: int) -> Header:
        """Write the live rows as the next epoch, publish it, and unlink the old epoch's files."""
        alive = sorted(self._alive_ids(header).items(), key=lambda item: item[1])
        fresh = replace(header, epoch=header.epoch + 1, rows=len(alive), dead=0, id_width=id_width)
        block = np.zeros((0, header.dimensions), dtype=np.float32)
        if alive:
            rows = np.memmap(header.path(self.folder, "rows"), dtype=np.float32, mode="r")
            keep = np.array([row for _, row in alive], dtype=np.int64)
            block = rows[: header.rows * header.dimensions].reshape(header.rows, header.dimensions)[keep]
            del rows
        encoded = np.array([chunk_id.encode() for chunk_id, _ in alive], dtype=f"S{id_width}")
        _append_bytes(fresh.path(self.folder, "rows"), 0, block.tobytes())
        _append_bytes(fresh.path(self.folder, "ids"), 0, encoded.tobytes())
        _append_bytes(fresh.path(self.folder, "dead"), 0, b"")
        self._publish(fresh)
        current = {fresh.path(self.folder, kind) for kind in ("rows", "ids", "dead")}
        for kind in ("rows", "ids", "dead"):  # the old epoch's, and any a crash left behind
            for path in self.folder.glob(f"{kind}-*.*"):
                if path not in current:
                    path.unlink(missing_ok=True)
        log.info("vector file %s compacted: %d rows of %d kept", self.folder, len(alive), header.rows)
        return fresh

    def _publish(self, header: Header) -> None:
        temporary = self.folder / f".{_HEADER}.{os.getpid()}.tmp"
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump(asdict(header), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.folder / _HEADER)
        directory = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _append_bytes(path: Path, published: int, data: bytes) -> None:
    """Write `data` after the first `published` bytes (dropping anything a cut-short append left
    there), durably."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.ftruncate(descriptor, published)
        os.lseek(descriptor, published, os.SEEK_SET)
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _map(path: Path, size: int) -> mmap.mmap | None:
    if size == 0:
        return None
    with path.open("rb") as handle:
        mapped = mmap.mmap(handle.fileno(), size, prot=mmap.PROT_READ)
    mapped.madvise(mmap.MADV_WILLNEED)
    return mapped


def _read_ids(header: Header, folder: Path, start: int, stop: int) -> list[str]:
    if stop <= start:
        return []
    width = header.id_width
    raw = np.fromfile(header.path(folder, "ids"), dtype=f"S{width}", count=stop - start, offset=start * width)
    return [value.decode() for value in raw.tolist()]


def _read_dead(header: Header, folder: Path, start: int, stop: int) -> np.ndarray:
    if stop <= start:
        return np.zeros(0, dtype=np.int64)
    return np.fromfile(header.path(folder, "dead"), dtype=np.int64, count=stop - start, offset=start * 8)


class SharedDenseIndex:
    """DenseIndex's interface over the memory-mapped vector file. Thread-safe.

    It holds the chunks it is told to hold (`needed`, `add`), as DenseIndex does; the file is
    where their vectors come from. Chunks the file lacks are given to `add` and kept in memory.
    With a `store`, a file found missing or behind is caught up from it (if no one else writes).
    """

    def __init__(
        self, folder: Path, model: str, store: ChromaStore | None = None, refresh_interval_s: float = 1.0
    ) -> None:
        self.folder = folder
        self.model = model
        self._store = store
        self._refresh_interval_s = refresh_interval_s
        self._lock = threading.RLock()
        self._overlay = DenseIndex()  # vectors the file lacks
        self._overlay_ids: set[str] = set()
        self._header: Header | None = None
        self._checked_at = 0.0
        self._rows = np.zeros((0, 0), dtype=np.float32)
        self._ids = np.zeros(0, dtype=f"S{_MIN_ID_WIDTH}")
        self._slot: dict[str, int] = {}  # chunk id -> row, live rows of the file
        self._held = np.zeros(0, dtype=bool)  # rows this index holds
        self._held_count = 0
        self._held_rows: np.ndarray | None = None  # flatnonzero(_held), kept until it changes

    def __len__(self) -> int:
        return self._held_count + len(self._overlay_ids)

    def needed(self, chunk_ids: Sequence[str]) -> list[str]:
        """Hold these chunks from the file where it has them; the ids whose vectors `add` needs."""
        with self._lock:
            self._refresh()
            missing = self._hold(chunk_ids)
            writer = VectorFile(self.folder, self.model)
            if missing and self._store is not None and writer.catch_up(self._store, wait=False):
                self._refresh()
                missing = self._hold(missing)
            return missing

    def add(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Hold vectors by chunk id in memory (replacing any with the same id)."""
        if not vectors:
            return
        with self._lock:
            self.remove(vectors)
            if self._header is not None and self._header.dimensions:
                width = len(next(iter(vectors.values())))
                if width != self._header.dimensions:
                    raise ValueError(
                        f"vectors of {width} dimensions in an index of {self._header.dimensions}"
                    )
            self._overlay.add(vectors)
            self._overlay_ids.update(vectors)

    def remove(self, chunk_ids: Iterable[str]) -> None:
        """Forget chunks; unknown ids are ignored."""
        with self._lock:
            ids = list(chunk_ids)
            overlay = [i for i in ids if i in self._overlay_ids]
            self._overlay.remove(overlay)
            self._overlay_ids.difference_update(overlay)
            for chunk_id in ids:
                row = self._slot.get(chunk_id)
                if row is not None and self._held[row]:
                    self._held[row] = False
                    self._held_count -= 1
                    self._held_rows = None

    def search(self, vector: np.ndarray, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """The k chunk ids most similar to the vector, best first, with their cosine similarity.

        Ties are broken by row in the file, then by the order of the in-memory ones.
        """
        with self._lock:
            if time.monotonic() - self._checked_at > self._refresh_interval_s:
                self._refresh()  # a compaction: map the new epoch, let the old file go
            if k <= 0 or not len(self):
                return []
            query = np.asarray(vector, dtype=np.float32)
            found = self._search_file(query, k, allowed)
            if self._overlay_ids:
                found = sorted(found + self._overlay.search(query, k, allowed), key=lambda p: -p[1])[:k]
            return found

    def similarity(self, vector: np.ndarray, chunk_ids: Iterable[str]) -> dict[str, float]:
        """Cosine similarity of the vector to each held chunk among `chunk_ids`."""
        with self._lock:
            ids = list(chunk_ids)
            rows = {i: row for i in ids if (row := self._slot.get(i)) is not None and self._held[row]}
            query = np.asarray(vector, dtype=np.float32)
            found: dict[str, float] = {}
            if rows:
                scores = self._rows[list(rows.values())] @ query
                found = {chunk_id: float(s) for chunk_id, s in zip(rows, scores, strict=True)}
            found.update(self._overlay.similarity(query, [i for i in ids if i in self._overlay_ids]))
            return found

    # -- the file --------------------------------------------------------------------------

    def _search_file(self, query: np.ndarray, k: int, allowed: set[str] | None) -> list[tuple[str, float]]:
        if not self._held_count:
            return []
        if allowed is None:
            if self._held_rows is None:
                self._held_rows = np.flatnonzero(self._held)
            rows = self._held_rows
        else:
            picked = [row for i in allowed if (row := self._slot.get(i)) is not None and self._held[row]]
            rows = np.array(sorted(picked), dtype=np.int64)
        if rows.size == 0:
            return []
        scores = self._rows @ query  # the whole product, as DenseIndex: the same figures
        rows, top = best_rows(scores, rows, k)
        return [(self._ids[row].decode(), float(score)) for row, score in zip(rows, top, strict=True)]

    def _hold(self, chunk_ids: Iterable[str]) -> list[str]:
        missing: list[str] = []
        for chunk_id in chunk_ids:
            row = self._slot.get(chunk_id)
            if row is None:
                missing.append(chunk_id)
                continue
            if chunk_id in self._overlay_ids:  # the file has it now: let the memory copy go
                self._overlay.remove([chunk_id])
                self._overlay_ids.discard(chunk_id)
            if not self._held[row]:
                self._held[row] = True
                self._held_count += 1
                self._held_rows = None
        return missing

    def _refresh(self) -> None:
        """Map what the header publishes now: the new rows, the new tombstones, or a new epoch."""
        self._checked_at = time.monotonic()
        for _ in range(3):  # a compaction may unlink the files between header and open
            header = read_header(self.folder)
            if header is None or header.model != self.model or header == self._header:
                return
            try:
                if (
                    self._header is not None
                    and header.epoch == self._header.epoch
                    and header.rows >= self._header.rows
                    and header.dead >= self._header.dead
                ):
                    self._extend(header)
                else:
                    self._reload(header)
                return
            except FileNotFoundError:
                continue
        log.warning("vector file %s keeps changing under this reader: kept the previous view", self.folder)

    def _map_epoch(self, header: Header) -> None:
        rows_map = _map(header.path(self.folder, "rows"), header.rows * header.dimensions * 4)
        ids_map = _map(header.path(self.folder, "ids"), header.rows * header.id_width)
        if rows_map is None or ids_map is None:  # (the arrays keep their mappings open)
            self._rows = np.zeros((0, header.dimensions), dtype=np.float32)
            self._ids = np.zeros(0, dtype=f"S{header.id_width}")
        else:
            self._rows = np.frombuffer(rows_map, dtype=np.float32).reshape(header.rows, header.dimensions)
            self._ids = np.frombuffer(ids_map, dtype=f"S{header.id_width}")

    def _extend(self, header: Header) -> None:
        assert self._header is not None
        old = self._header
        self._map_epoch(header)
        new_ids = [value.decode() for value in self._ids[old.rows : header.rows].tolist()]
        self._slot.update((chunk_id, old.rows + n) for n, chunk_id in enumerate(new_ids))
        self._held = np.concatenate([self._held, np.zeros(header.rows - old.rows, dtype=bool)])
        self._drop(_read_dead(header, self.folder, old.dead, header.dead))
        self._header = header
        self._hold(self._overlay_ids & self._slot.keys())

    def _reload(self, header: Header) -> None:
        held = [self._ids[row].decode() for row in np.flatnonzero(self._held).tolist()]
        dead = _read_dead(header, self.folder, 0, header.dead)
        self._map_epoch(header)
        ids = [value.decode() for value in self._ids.tolist()]
        self._slot = {chunk_id: row for row, chunk_id in enumerate(ids)}
        self._held = np.zeros(header.rows, dtype=bool)
        self._held_count, self._held_rows = 0, None
        self._drop(dead)
        self._header = header
        self._hold([i for i in held if i in self._slot])
        self._hold(self._overlay_ids & self._slot.keys())

    def _drop(self, dead_rows: np.ndarray) -> None:
        """Tombstoned rows: the store no longer has these chunks."""
        for row in dead_rows.tolist():
            chunk_id = self._ids[row].decode()
            if self._slot.get(chunk_id) == row:
                del self._slot[chunk_id]
            if self._held[row]:
                self._held[row] = False
                self._held_count -= 1
                self._held_rows = None
                if chunk_id in self._slot:  # written again further on: hold that row instead
                    self._hold([chunk_id])
