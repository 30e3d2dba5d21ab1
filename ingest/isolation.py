"""Each file is read and chunked in a worker process with a time and a memory limit.

A hostile or broken file (a decompression bomb, a PDF whose page tree claims 50,000 pages, a
text of one 300,000-character line) must not stall ingest or take the machine's memory: what a
file may hold is capped before it is read (`ReadLimits`: pages, columns, unpacked size, line
length), the worker that runs past `FileLimits.seconds` is killed and replaced, one that runs out
of `FileLimits.memory_mb` fails that file alone, and the other files are indexed. The failure
names the limit and the setting that raises it.

One worker serves the whole run (started once: spawning costs about a second); it counts word
pieces with the same embedder tokenizer as the parent, so chunks are identical to reading
in-process.
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from assistant.documents import Chunk, SourceDocument
from assistant.errors import AssistantError, DocumentError
from ingest.chunking import ChunkSizing, chunk_document
from ingest.language import detect_language
from ingest.loaders import ReadLimits, load_document

log = logging.getLogger(__name__)

STARTUP_SECONDS = 300  # a worker's imports and tokenizer, on a busy machine


@dataclass(frozen=True)
class FileLimits:
    """What one file may cost to read and chunk."""

    seconds: float  # FILE_TIMEOUT_S
    memory_mb: int  # FILE_MEMORY_MB
    reading: ReadLimits  # what it may hold: pages, columns, unpacked size, line length


@dataclass(frozen=True)
class FileRead:
    """A file read and chunked, with the seconds each step took."""

    document: SourceDocument
    chunks: list[Chunk]
    load_seconds: float
    chunk_seconds: float


class FileWorker:
    """Reads and chunks files in a child process, one at a time (not thread-safe)."""

    def __init__(self, embedding_model: str, sizing: ChunkSizing, limits: FileLimits) -> None:
        self.embedding_model = embedding_model
        self.sizing = sizing
        self.limits = limits
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None

    def prepare(self, path: Path, source_id: str) -> FileRead:
        """The file's document and chunks; DocumentError when it cannot be read within the limits."""
        conn = self._connection()
        conn.send((str(path), source_id))
        if not conn.poll(self.limits.seconds):
            self.close()
            raise DocumentError(
                f"reading and chunking the file took longer than {self.limits.seconds:g} s: it was "
                "stopped. Check the file (it may be damaged or built to stall readers) or raise "
                "IOM_ASSISTANT_FILE_TIMEOUT_S"
            )
        try:
            outcome, *payload = conn.recv()
        except (EOFError, OSError):
            self.close()
            raise DocumentError(
                f"the reader stopped while reading the file (over {self.limits.memory_mb} MB of memory, "
                "or a crash): check the file or raise IOM_ASSISTANT_FILE_MEMORY_MB"
            ) from None
        if outcome == "ok":
            document, chunks, load_seconds, chunk_seconds = payload
            return FileRead(document, chunks, load_seconds, chunk_seconds)
        if outcome == "memory":
            raise DocumentError(
                f"reading the file needed more than {self.limits.memory_mb} MB of memory: split it "
                "or raise IOM_ASSISTANT_FILE_MEMORY_MB"
            )
        if outcome == "document":
            raise DocumentError(payload[0])
        raise RuntimeError(payload[0])  # a loader bug, reported by the caller as unexpected

    def close(self) -> None:
        """Stop the worker (a new one starts on the next file)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(timeout=10)
            self._process = None

    def _connection(self) -> Connection:
        if self._conn is None or self._process is None or not self._process.is_alive():
            self.close()
            context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
            parent, child = context.Pipe()
            self._process = context.Process(
                target=_serve,
                args=(child, self.embedding_model, self.sizing, self.limits),
                name="ingest-file-worker",
                daemon=True,
            )
            self._process.start()
            child.close()
            self._conn = parent
            # Start-up (imports, the tokenizer) is not the first file's time.
            if not parent.poll(STARTUP_SECONDS) or parent.recv() != ("ready",):
                self.close()
                raise DocumentError(f"the file reader did not start within {STARTUP_SECONDS} s")
        return self._conn


def _serve(conn: Connection, embedding_model: str, sizing: ChunkSizing, limits: FileLimits) -> None:
    """The worker: read and chunk the files it is sent until the pipe closes."""
    import time

    from assistant.embedder import make_embedder

    _limit_memory(limits.memory_mb)
    embedder = make_embedder(embedding_model)
    embedder.count_tokens(["warm up"])  # loads the tokenizer
    conn.send(("ready",))
    while True:
        try:
            path, source_id = conn.recv()
        except (EOFError, OSError):
            return
        try:
            started = time.perf_counter()
            document = load_document(Path(path), source_id, limits.reading)
            if document.language is None:
                document = replace(document, language=detect_language(document.text))
            loaded = time.perf_counter()
            chunks = chunk_document(document, embedder.count_tokens, sizing)
            conn.send(("ok", document, chunks, loaded - started, time.perf_counter() - loaded))
        except MemoryError:
            conn.send(("memory",))
        except AssistantError as exc:
            conn.send(("document", str(exc)))
        except Exception as exc:  # reported to the parent, which logs it
            conn.send(("bug", f"{type(exc).__name__}: {exc}"))


def _limit_memory(memory_mb: int) -> None:
    """Cap the worker's heap (RLIMIT_DATA: what it allocates, not the libraries it maps)."""
    limit = memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
