"""Ingest benchmark: the shared corpus into a fresh index, phase by phase.

Prints files, pages, chunks, seconds per phase, chunks/s, peak RSS, and the ratio
of end-to-end ingest throughput to the raw `encode()` throughput of the same
embedder on the same chunk texts in this process (1.0 = the pipeline costs nothing
beyond embedding). Then the re-ingest time of the unchanged corpus as a fraction
of the first run.

    .venv/bin/python bench/ingest.py [--corpus DIR (default: the `make corpus` cache)] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.index import Index  # noqa: E402
from assistant.settings import load_settings  # noqa: E402
from evaluation.corpus import DEFAULT_CACHE  # noqa: E402
from ingest.pipeline import IngestOptions, Ingestor  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--keep", type=Path, help="build the index here (kept) instead of a temp folder")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="iom-bench-"))
    settings = load_settings(index_dir=folder)
    options = IngestOptions.from_settings(settings, progress=False, rebuild=True)
    index = Index.from_settings(settings)
    index.embedder.embed(["warm up"])  # model load is not ingest throughput

    first = Ingestor(index, options).run([args.corpus])
    again = Ingestor(index, IngestOptions.from_settings(settings, progress=False)).run([args.corpus])

    texts = [c.embedding_text() for c in index.store.iter_chunks()]
    started = time.perf_counter()
    for start in range(0, len(texts), 512):
        index.embedder.embed(texts[start : start + 512])
    encode_s = time.perf_counter() - started

    pipeline_rate = first.chunks_embedded / first.seconds
    encode_rate = len(texts) / encode_s
    print(f"corpus            {args.corpus}")
    print(
        f"files             {first.files_seen} seen, {first.files_indexed} indexed, "
        f"{len(first.files_failed)} failed"
    )
    print(f"pages             {first.pages}")
    print(f"chunks            {first.chunks_total}")
    for phase, seconds in first.phase_seconds.items():
        print(f"  {phase:<15} {seconds:8.2f} s")
    print(f"total             {first.seconds:8.2f} s")
    print(f"chunks/s          {pipeline_rate:8.1f} end to end, {encode_rate:.1f} raw encode()")
    print(
        f"throughput ratio  {pipeline_rate / encode_rate:8.3f}  "
        "(ingest / raw encode, same texts, same process)"
    )
    print(
        f"re-ingest         {again.seconds:8.2f} s = {again.seconds / first.seconds:.4f} of the first run "
        f"({again.files_unchanged} unchanged, {again.chunks_embedded} embedded)"
    )
    print(f"peak RSS          {peak_rss_mb():8.0f} MB")
    for failure in first.files_failed:
        print(f"failed: {failure.path}: {failure.error}")


if __name__ == "__main__":
    main()
