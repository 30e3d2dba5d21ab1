"""Ingest benchmark: the shared corpus into a fresh index, per embedder backend, against the
tutorial pipeline in the same process.

First the tutorial LangChain pipeline of `bench/naive_baseline.py` (RecursiveCharacterTextSplitter
1000/200, sentence-transformers all-MiniLM-L6-v2 in torch, a LangChain Chroma store) is built over
the same folders and timed. Then, for each embedder backend (`EMBEDDER_BACKEND`: onnx, onnx-int8,
torch), our ingest into a fresh index: files, pages, chunks, seconds per phase, chunks/s, the
re-ingest time of the unchanged corpus as a fraction of the first run, and the extractive answer latency
(the questions of `bench/query.py`) on that index. The summary gives each backend's ingest time
as a ratio of the tutorial pipeline's (the budget: at most 0.67) and its answer p95 (at most 300 ms).
With `--raw-encode`, also the ratio of end-to-end ingest throughput to the raw `encode()`
throughput of the same embedder on the same chunk texts (1.0 = the pipeline costs nothing beyond
embedding); it embeds the corpus once more per backend.

    .venv/bin/python bench/ingest.py [--corpus DIR ...] [--backends torch onnx onnx-int8] [--keep DIR]
        [--raw-encode] [--rounds 1]

`--corpus` defaults to the `make corpus` cache; `--keep DIR` keeps each backend's index in
DIR/<backend> (for `iom-assistant eval` or `bench/query.py --index`).
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import get_args

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from naive_baseline import SameEmbeddings, build_naive_store  # noqa: E402
from query import QUESTIONS, measure, pct  # noqa: E402

from assistant.embedder import make_embedder  # noqa: E402
from assistant.index import Index  # noqa: E402
from assistant.service import AssistantService  # noqa: E402
from assistant.settings import DEFAULT_EMBEDDING_MODEL, EmbedderBackend, load_settings  # noqa: E402
from evaluation.corpus import DEFAULT_CACHE  # noqa: E402
from ingest.pipeline import IngestOptions, Ingestor  # noqa: E402

BUDGET_RATIO = 2 / 3
BUDGET_P95_MS = 300.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tutorial_seconds(roots: list[Path], folder: Path) -> tuple[float, int]:
    """Seconds the tutorial pipeline takes to split, embed and store the folders, and its chunks."""
    embedder = make_embedder(DEFAULT_EMBEDDING_MODEL, backend="torch")
    embedder.embed(["warm up"])  # model load is not ingest time, for either pipeline
    started = time.perf_counter()
    _, chunks = build_naive_store(roots, SameEmbeddings(embedder), folder)
    return time.perf_counter() - started, chunks


def ours(
    backend: EmbedderBackend, roots: list[Path], folder: Path, raw_encode: bool, rounds: int
) -> tuple[float, float | None]:
    """Ingest the folders with one backend, print its figures; return (seconds, answer p95 ms)."""
    settings = load_settings(index_dir=folder, embedder_backend=backend)
    index = Index.from_settings(settings)
    started = time.perf_counter()
    index.embedder.embed(["warm up"])  # model load (and, once, the int8 export) is not ingest
    print(f"\n[{backend}] model ready in {time.perf_counter() - started:.1f} s", flush=True)
    options = IngestOptions.from_settings(settings, progress=False, rebuild=True)
    first = Ingestor(index, options).run(roots)
    again = Ingestor(index, IngestOptions.from_settings(settings, progress=False)).run(roots)
    print(
        f"files             {first.files_seen} seen, {first.files_indexed} indexed, "
        f"{len(first.files_failed)} failed"
    )
    print(f"pages             {first.pages}")
    print(f"chunks            {first.chunks_total}")
    for phase, seconds in first.phase_seconds.items():
        print(f"  {phase:<15} {seconds:8.2f} s")
    print(f"total             {first.seconds:8.2f} s")
    pipeline_rate = first.chunks_embedded / first.seconds
    if raw_encode:
        texts = [c.embedding_text() for c in index.store.iter_chunks()]
        started = time.perf_counter()
        for start in range(0, len(texts), 512):
            index.embedder.embed(texts[start : start + 512])
        encode_rate = len(texts) / (time.perf_counter() - started)
        print(f"chunks/s          {pipeline_rate:8.1f} end to end, {encode_rate:.1f} raw encode()")
        print(
            f"throughput ratio  {pipeline_rate / encode_rate:8.3f}  "
            "(ingest / raw encode, same texts, same process)"
        )
    else:
        print(f"chunks/s          {pipeline_rate:8.1f} end to end")
    print(
        f"re-ingest         {again.seconds:8.2f} s = {again.seconds / first.seconds:.4f} of the first run "
        f"({again.files_unchanged} unchanged, {again.chunks_embedded} embedded)"
    )
    for failure in first.files_failed:
        print(f"failed: {failure.path}: {failure.error}")
    p95 = None
    if rounds:
        service = AssistantService(settings, index)
        service.warm_up()
        service.ask("What does IOM do?")  # load what loads lazily before timing
        _, answer_ms = measure(service, rounds)
        p95 = pct(answer_ms, 95)
        print(
            f"extractive answer p50 {pct(answer_ms, 50):7.1f} ms  p95 {p95:7.1f} ms  "
            f"({len(QUESTIONS) * rounds} questions)"
        )
    index.manifest.close()
    return first.seconds, p95


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, nargs="+", default=[DEFAULT_CACHE])
    backends = list(get_args(EmbedderBackend))
    parser.add_argument("--backends", nargs="+", default=backends, choices=backends)
    parser.add_argument("--keep", type=Path, help="build the indexes in DIR/<backend> (kept)")
    parser.add_argument("--raw-encode", action="store_true", help="also time raw encode() (slow)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of answer-latency questions (0: skip)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="iom-bench-"))
    keep = args.keep or work

    print(f"corpus            {' '.join(map(str, args.corpus))}", flush=True)
    tutorial_s, tutorial_chunks = tutorial_seconds(args.corpus, work / "tutorial")
    print(f"tutorial pipeline {tutorial_chunks} chunks in {tutorial_s:.2f} s", flush=True)
    results = {b: ours(b, args.corpus, keep / b, args.raw_encode, args.rounds) for b in args.backends}

    print(
        f"\nsummary (budget: ingest <= {BUDGET_RATIO:.2f} of the tutorial pipeline, answer p95 <= "
        f"{BUDGET_P95_MS:.0f} ms)"
    )
    print(f"  tutorial pipeline   {tutorial_s:8.2f} s  1.00")
    for backend, (seconds, p95) in results.items():
        shown = "-" if p95 is None else f"{p95:.1f} ms"
        print(f"  ours {backend:<14} {seconds:8.2f} s  {seconds / tutorial_s:.2f}  answer p95 {shown}")
    print(f"peak RSS          {peak_rss_mb():8.0f} MB")


if __name__ == "__main__":
    main()
