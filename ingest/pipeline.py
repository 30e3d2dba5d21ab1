"""load -> clean -> chunk -> embed -> store, incremental and safe to kill at any moment.

For each file whose content hash differs from the manifest (or whose entry is
still `pending` from a killed run):

1. the manifest marks it `pending` (before the store is touched);
2. the file is loaded, cleaned and chunked; chunk ids derive from source and text;
3. chunks the store lacks are embedded (or their vectors reused from an identical
   text elsewhere) and added; chunks it holds get their metadata refreshed; chunks
   of the old version that the new one lacks are deleted;
4. the manifest marks it `indexed` with the new hash.

Files gone from disk are marked `pending`, lose their chunks, then their entry. Whatever step a kill
interrupts, the next run redoes that file from step 1 and reaches the same ids a
clean run produces. A file that fails to load keeps its previous chunks.

The manifest marks the index incomplete (COMPLETE) before the run's first write and complete
after its last, so an index cut short, a `--rebuild` included, never claims to be complete. A run
that finds the store holding fewer chunks than the manifest lists (a collection dropped or lost
under it) reads every file again, reusing whatever vectors are left. A run that would remove
more than half of a folder's indexed files stops before writing anything (a moved or unmounted
folder looks the same), unless told they were deleted on purpose.

Over 300 lines on purpose: the crash-safe order of manifest, store and vectors (steps 1-4) is
checked by reading it in one place; loading, cleaning and chunking live in their own modules.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from assistant.documents import Chunk, SourceDocument
from assistant.errors import AssistantError, DocumentError, IndexUnavailableError
from assistant.index import Index
from assistant.manifest import COMPLETE, ManifestEntry
from assistant.settings import Settings
from assistant.shared_vectors import FOLDER as VECTOR_FOLDER
from assistant.shared_vectors import VectorFile
from assistant.store import text_sha
from ingest.access import relabel_source
from ingest.chunking import ChunkSizing
from ingest.discovery import (
    DEFAULT_IGNORE,
    FileFailure,
    SourceFile,
    discover,
    distinct_source_ids,
    file_sha256,
)
from ingest.isolation import FileLimits, FileWorker
from ingest.loaders import ReadLimits

log = logging.getLogger(__name__)

# Bump when loading, cleaning, chunking or what the embedder reads changes, so every file is
# re-chunked once (and only chunks whose embedded text changed are embedded again).
PIPELINE_VERSION = "4"


@dataclass(frozen=True)
class IngestOptions:
    """How an ingest run behaves."""

    sizing: ChunkSizing
    max_file_bytes: int
    limits: FileLimits  # to read and chunk one file
    ignore: tuple[str, ...] = DEFAULT_IGNORE
    rebuild: bool = False
    progress: bool = True
    allow_mass_removal: bool = False  # let one run remove more than half of the indexed files
    vector_folder: Path | None = None  # the shared vector file to keep in step (DENSE_VECTORS=shared)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        rebuild: bool = False,
        progress: bool = True,
        allow_mass_removal: bool = False,
    ) -> IngestOptions:
        """The options the settings give (sizes and limits), and the run's own choices."""
        return cls(
            sizing=ChunkSizing(
                max_tokens=0,  # the embedder's own limit, filled in by the ingestor
                target_tokens=settings.chunk_tokens,
                overlap_tokens=settings.chunk_overlap_tokens,
            ),
            max_file_bytes=int(settings.max_file_mb * 1024 * 1024),
            limits=FileLimits(
                seconds=settings.file_timeout_s,
                memory_mb=settings.file_memory_mb,
                reading=ReadLimits(
                    max_pages=settings.max_pages,
                    max_columns=settings.max_columns,
                    max_unpacked_mb=settings.max_unpacked_mb,
                    max_line_chars=settings.max_line_chars,
                ),
            ),
            rebuild=rebuild,
            progress=progress,
            allow_mass_removal=allow_mass_removal,
            vector_folder=settings.index_dir / VECTOR_FOLDER if settings.dense_vectors == "shared" else None,
        )


@dataclass
class IngestSummary:
    """What one ingest run did (the `--json` output)."""

    files_seen: int = 0
    files_indexed: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    files_relabelled: int = 0  # same content, new readers (an access file changed): not embedded again
    files_failed: list[FileFailure] = field(default_factory=list)
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    pages: int = 0
    chunks_embedded: int = 0
    phase_seconds: dict[str, float] = field(
        default_factory=lambda: {"load": 0.0, "chunk": 0.0, "embed": 0.0, "store": 0.0}
    )

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON."""
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        data["phase_seconds"] = {k: round(v, 3) for k, v in self.phase_seconds.items()}
        return data


@dataclass
class _Prepared:
    """A file after loading and chunking (or its failure)."""

    file: SourceFile
    sha256: str
    size: int
    doc: SourceDocument | None = None
    chunks: list[Chunk] = field(default_factory=list)
    error: str | None = None


class Ingestor:
    """Runs ingest over one index. Thin callers: the CLI, tests and the benchmark."""

    def __init__(self, index: Index, options: IngestOptions) -> None:
        self.index = index
        self.options = options

    def run(self, paths: Sequence[Path]) -> IngestSummary:
        """Bring the index in line with the files under `paths`."""
        started = time.perf_counter()
        summary = IngestSummary()
        lock_path = self.index.manifest.path.parent / "ingest.lock"
        with _exclusive(lock_path):
            files, roots, refused = discover(paths, self.options.ignore)
            summary.files_seen = len(files) + len(refused)
            summary.files_failed.extend(refused)
            self._check_removals(files, roots)
            # Until this run ends, the index does not claim to be complete (a killed run, a
            # --rebuild cut short): /api/health says "incomplete".
            self.index.manifest.set_meta(COMPLETE, "0")
            fresh_manifest = self._open()
            files, unnamed = distinct_source_ids(files, self.index.manifest.entries())
            summary.files_failed.extend(unnamed)
            todo, relabel = self._changed(files, summary)
            for file in relabel:
                relabel_source(self.index, file.source_id, file.groups)
                summary.files_relabelled += 1
            self._index_files(todo, summary)
            self._remove_missing(files, roots, summary, scan_store=fresh_manifest)
            if self.options.vector_folder is not None:  # before the mark: replicas find it ready
                VectorFile(self.options.vector_folder, self.index.store.model).catch_up(self.index.store)
            if summary.chunks_added or summary.chunks_removed or summary.files_indexed or relabel:
                # tells running servers, wherever they run, to bring their indexes in step
                self.index.store.set_generation(f"{time.time():.6f}")
            summary.chunks_total = self.index.store.count()
            self.index.manifest.set_meta(COMPLETE, "1")
        summary.seconds = time.perf_counter() - started
        return summary

    # -- set-up -----------------------------------------------------------------------

    def _open(self) -> bool:
        """Check model, reset for --rebuild, discard a manifest of another store, re-read every
        file when the store lost chunks the manifest lists.

        Returns True when the manifest starts empty while the store may hold chunks.
        """
        manifest, store = self.index.manifest, self.index.store
        if self.options.rebuild:
            # The manifest first: a kill between the two leaves chunks no entry vouches for
            # (orphans the next run removes), never entries vouching for chunks that are gone.
            manifest.clear()
            store.drop()
        stored = store.count()  # opens the collection; raises on a model mismatch
        identity = self.index.store_identity
        fresh = manifest.get_meta("store") != identity
        if fresh:
            manifest.clear()
            manifest.set_meta("store", identity)
        entries = manifest.entries().values()
        listed = sum(e.chunks for e in entries if e.status == "indexed")
        if stored < listed:
            log.warning(
                "the store holds %d chunks, the manifest lists %d: reading every file again", stored, listed
            )
        if stored < listed or manifest.get_meta("pipeline") != PIPELINE_VERSION:
            for entry in entries:
                manifest.mark_pending(entry.source_id, entry.root, entry.relative, entry.sha256, entry.size)
            manifest.set_meta("pipeline", PIPELINE_VERSION)
        return fresh

    def _changed(
        self, files: Sequence[SourceFile], summary: IngestSummary
    ) -> tuple[list[tuple[SourceFile, str, int]], list[SourceFile]]:
        """Files whose content differs from what the index holds, with hash and size; and files
        whose content is the same but whose readers changed."""
        entries = self.index.manifest.entries()
        todo: list[tuple[SourceFile, str, int]] = []
        relabel: list[SourceFile] = []
        started = time.perf_counter()
        for file in files:
            try:
                size = file.path.stat().st_size
                sha = file_sha256(file.path)
            except OSError as exc:
                summary.files_failed.append(FileFailure(str(file.path), f"cannot read the file: {exc}"))
                continue
            entry = entries.get(file.source_id)
            if (
                entry is not None
                and entry.status == "indexed"
                and entry.sha256 == sha
                and str(entry.path) == file.key
            ):
                if entry.groups == file.groups:
                    summary.files_unchanged += 1
                else:
                    relabel.append(file)
            else:
                todo.append((file, sha, size))
        summary.phase_seconds["load"] += time.perf_counter() - started
        return todo, relabel

    # -- indexing -----------------------------------------------------------------------

    def _index_files(self, todo: list[tuple[SourceFile, str, int]], summary: IngestSummary) -> None:
        if not todo:
            return
        embedder = self.index.embedder
        sizing = replace(self.options.sizing, max_tokens=embedder.max_tokens)
        worker = FileWorker(embedder.name, sizing, self.options.limits)
        bar = _progress(len(todo), "files", self.options.progress)
        try:
            for prepared in self._prepare_ahead(todo, summary, worker):
                bar.set_postfix_str(prepared.file.source_id[-40:], refresh=False)
                if prepared.error is not None:
                    summary.files_failed.append(FileFailure(str(prepared.file.path), prepared.error))
                else:
                    self._store_file(prepared, summary)
                bar.update(1)
        finally:
            bar.close()
            worker.close()

    def _prepare_ahead(
        self, todo: list[tuple[SourceFile, str, int]], summary: IngestSummary, worker: FileWorker
    ) -> Iterator[_Prepared]:
        """Load and chunk files (in `worker`'s process, fed by a background thread) while the
        caller embeds."""
        ready: queue.Queue[_Prepared | None] = queue.Queue(maxsize=2)
        stop = threading.Event()

        def work() -> None:
            try:
                for file, sha, size in todo:
                    if stop.is_set():
                        return
                    ready.put(self._prepare(file, sha, size, summary, worker))
            finally:
                ready.put(None)

        feeder = threading.Thread(target=work, name="ingest-loader", daemon=True)
        feeder.start()
        try:
            while (item := ready.get()) is not None:
                yield item
        finally:
            stop.set()
            while feeder.is_alive():
                with contextlib.suppress(queue.Empty):
                    ready.get(timeout=0.1)

    def _prepare(
        self, file: SourceFile, sha: str, size: int, summary: IngestSummary, worker: FileWorker
    ) -> _Prepared:
        prepared = _Prepared(file, sha, size)
        if size > self.options.max_file_bytes:
            prepared.error = (
                f"file is {size / 1e6:.1f} MB, over the {self.options.max_file_bytes / 1e6:.0f} MB limit: "
                "split it into smaller documents or raise IOM_ASSISTANT_MAX_FILE_MB"
            )
            return prepared
        try:
            read = worker.prepare(file.path, file.source_id)
            summary.phase_seconds["load"] += read.load_seconds
            summary.phase_seconds["chunk"] += read.chunk_seconds
            if not read.chunks:
                raise DocumentError("no text found in the file: nothing to index")
            prepared.doc = read.document
            prepared.chunks = [replace(c, groups=file.groups) for c in read.chunks]
        except AssistantError as exc:
            prepared.error = str(exc)
        except Exception as exc:  # a loader bug must not stop the rest of the corpus
            log.error("unexpected error loading %s: %s", file.path, exc)
            prepared.error = f"unexpected error while reading the file ({exc})"
        return prepared

    def _store_file(self, prepared: _Prepared, summary: IngestSummary) -> None:
        store, manifest = self.index.store, self.index.manifest
        file, chunks = prepared.file, prepared.chunks
        manifest.mark_pending(file.source_id, str(file.root), file.relative, prepared.sha256, prepared.size)

        started = time.perf_counter()
        existing = store.chunk_ids(file.source_id)
        new = [c for c in chunks if c.chunk_id not in existing]
        kept = [c for c in chunks if c.chunk_id in existing]
        reusable = store.vectors_for(new) if new else {}
        summary.phase_seconds["store"] += time.perf_counter() - started

        to_embed = [c for c in new if text_sha(c) not in reusable]
        vectors = self._embed(to_embed, summary)
        by_sha = {**reusable, **{text_sha(c): v for c, v in zip(to_embed, vectors, strict=True)}}

        started = time.perf_counter()
        if new:
            store.upsert(new, np.stack([by_sha[text_sha(c)] for c in new]))
        store.update_metadata(kept)
        stale = existing - {c.chunk_id for c in chunks}
        store.delete(sorted(stale))
        assert prepared.doc is not None
        manifest.mark_indexed(
            ManifestEntry(
                source_id=file.source_id,
                root=str(file.root),
                sha256=prepared.sha256,
                size=prepared.size,
                status="indexed",
                chunks=len(chunks),
                pages=prepared.doc.pages,
                title=prepared.doc.title,
                groups=file.groups,
                relative=file.relative,
            )
        )
        summary.phase_seconds["store"] += time.perf_counter() - started
        summary.files_indexed += 1
        summary.chunks_added += len(new)
        summary.chunks_removed += len(stale)
        summary.pages += prepared.doc.pages or 0

    def _embed(self, chunks: Sequence[Chunk], summary: IngestSummary) -> list[np.ndarray]:
        """Embed in large slices (the encoder sorts each slice by length to limit padding)."""
        if not chunks:
            return []
        started = time.perf_counter()
        out: list[np.ndarray] = []
        step = 512
        bar = _progress(len(chunks), "chunks", self.options.progress and len(chunks) > step, leave=False)
        try:
            for start in range(0, len(chunks), step):
                part = chunks[start : start + step]
                out.extend(self.index.embedder.embed([c.embedding_text() for c in part]))
                bar.update(len(part))
        finally:
            bar.close()
        summary.phase_seconds["embed"] += time.perf_counter() - started
        summary.chunks_embedded += len(chunks)
        return out

    # -- removal ------------------------------------------------------------------------

    def _check_removals(self, files: Sequence[SourceFile], roots: Sequence[Path]) -> None:
        """Stop, before anything is written, a run that would remove more than half of the indexed
        files of one of its folders, unless they were deleted on purpose."""
        if self.options.allow_mass_removal:
            return
        present = {f.key for f in files}
        entries = self.index.manifest.entries().values()
        for root in roots:
            under = [e for e in entries if e.path.is_relative_to(root)]
            gone = [e for e in under if str(e.path) not in present]
            if 2 * len(gone) > len(under):
                raise DocumentError(
                    f"{len(gone)} of the {len(under)} indexed files are gone from {root}: nothing was "
                    "changed, since a moved or unmounted folder would empty the index. If they were "
                    "deleted on purpose, run ingest again with --allow-mass-removal"
                )

    def _remove_missing(
        self, files: Sequence[SourceFile], roots: Sequence[Path], summary: IngestSummary, scan_store: bool
    ) -> None:
        """Drop sources under the ingested roots that no file of this run is indexed as."""
        store, manifest = self.index.store, self.index.manifest
        present = {f.source_id for f in files}
        entries = manifest.entries().values()
        gone = [
            e.source_id
            for e in entries
            if e.source_id not in present and any(e.path.is_relative_to(r) for r in roots)
        ]
        if scan_store:  # no trustworthy manifest: anything in the store not on disk is an orphan
            gone.extend(sorted(store.source_ids() - present - set(gone)))
        held = manifest.entries()
        for source_id in gone:
            if (entry := held.get(source_id)) is not None:  # no longer vouching for its chunks
                manifest.mark_pending(source_id, entry.root, entry.relative, entry.sha256, entry.size)
            ids = store.chunk_ids(source_id)
            store.delete(sorted(ids))
            manifest.remove(source_id)
            summary.files_removed += 1
            summary.chunks_removed += len(ids)


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """One ingest at a time per index folder."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IndexUnavailableError(
                f"another ingest is running on {lock_path.parent}; wait for it to finish."
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class _NoBar:
    def update(self, n: int = 1) -> None:
        """Nothing to draw."""

    def set_postfix_str(self, s: str, refresh: bool = True) -> None:
        """Nothing to draw."""

    def close(self) -> None:
        """Nothing to close."""


def _progress(total: int, unit: str, enabled: bool, leave: bool = True) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, leave=leave, dynamic_ncols=True)
