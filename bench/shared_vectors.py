"""Shared vector file benchmark: replicas that map one file against replicas that copy the vectors.

Writes a synthetic vector file of --chunks random normalised 384-dim float32 vectors (straight
into `INDEX_DIR/vectors`, not through Chroma), then starts replica processes of each kind and
measures, in each: start (open and ready to search; for `memory`, the vectors read from the
file, which is faster than the Chroma a real replica reads, then added to DenseIndex in the
5,000-chunk batches of Retriever.sync), the first search, search p50/p95 over --queries
queries (k=40, the retriever's candidates), and its memory from /proc/<pid>/smaps_rollup while
every replica of the round is still alive. Rounds: one replica, then two at once. Figures of
`shared` are printed as ratios against `memory` measured in the same run. With
--chroma-sample N it also times reading N vectors from an embedded Chroma in the batches of
Retriever.sync, which is what a `memory` replica's start really pays.

    nice -n 15 .venv/bin/python bench/shared_vectors.py [--chunks 1000000] [--baseline-chunks N]
        [--queries 200] [--chroma-sample 20000] [--dir D]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.dense import DenseIndex  # noqa: E402
from assistant.shared_vectors import FOLDER, SharedDenseIndex, VectorFile, read_header  # noqa: E402

DIMENSIONS = 384
MODEL = "synthetic-384"
K = 40  # RetrievalConfig.candidates
MEMORY_FIELDS = ("Rss", "Pss", "Shared_Clean", "Private_Clean", "Private_Dirty", "Anonymous")


def chunk_ids(count: int) -> list[str]:
    return [f"{n:032x}" for n in range(count)]  # 32 hex digits, as ingest's ids


def unit_rows(count: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, DIMENSIONS), dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


def build(folder: Path, chunks: int) -> float:
    """Write the synthetic file; seconds taken."""
    started = time.perf_counter()
    writer = VectorFile(folder, MODEL)
    ids = chunk_ids(chunks)
    step = 100_000
    for start in range(0, chunks, step):
        block = unit_rows(min(step, chunks - start), seed=start)
        writer.write(dict(zip(ids[start : start + step], block, strict=True)))
    return time.perf_counter() - started


def memory_of(pid: int) -> dict[str, float]:
    """MB of each MEMORY_FIELDS line of /proc/<pid>/smaps_rollup."""
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in MEMORY_FIELDS:
            found[name] = int(rest.split()[0]) / 1024
    return found


def replica(kind: str, folder: Path, chunks: int, queries: int) -> None:
    """One replica process: start, search, report, then wait (alive) until told to exit."""
    ids = chunk_ids(chunks)  # a real replica has them from the store already
    started = time.perf_counter()
    index: SharedDenseIndex | DenseIndex
    if kind == "shared":
        index = SharedDenseIndex(folder, MODEL)
        assert not index.needed(ids)
    else:
        header = read_header(folder)
        assert header is not None
        index = DenseIndex()
        rows = np.memmap(header.path(folder, "rows"), dtype=np.float32, mode="r").reshape(-1, DIMENSIONS)
        for start in range(0, chunks, 5000):  # as Retriever.sync adds them
            part = ids[start : start + 5000]
            index.add(dict(zip(part, np.array(rows[start : start + len(part)]), strict=True)))
        del rows
    ready = time.perf_counter() - started
    vectors = unit_rows(queries, seed=424242)
    times = []
    for vector in vectors:
        began = time.perf_counter()
        index.search(vector, K)
        times.append((time.perf_counter() - began) * 1000)
    out = {
        "start_s": ready,
        "first_ms": times[0],
        "p50_ms": float(np.percentile(times, 50)),
        "p95_ms": float(np.percentile(times, 95)),
    }
    print(json.dumps(out), flush=True)
    sys.stdin.read()  # alive until the parent has read everyone's memory


def round_of(kind: str, folder: Path, chunks: int, queries: int, count: int) -> list[dict[str, float]]:
    """`count` replicas of one kind started at once; each one's figures and memory."""
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--replica", kind, "--dir", str(folder), "--chunks", str(chunks),
             "--queries", str(queries)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]  # fmt: skip
    results = []
    try:
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline()
            if not line:
                raise SystemExit(f"a {kind} replica failed (exit {child.wait()})")
            results.append(json.loads(line))
        for child, result in zip(children, results, strict=True):
            result.update(memory_of(child.pid))
    finally:
        for child in children:
            child.communicate()
    return results


def chroma_read_rate(sample: int) -> float:
    """Vectors per second read from an embedded Chroma in Retriever.sync's batches."""
    from assistant.documents import Chunk
    from assistant.store import ChromaStore

    with tempfile.TemporaryDirectory(prefix="iom-bench-chroma-") as folder:
        store = ChromaStore(path=Path(folder), collection="bench", embedding_model=MODEL)
        ids = chunk_ids(sample)
        rows = unit_rows(sample, seed=7)
        for start in range(0, sample, 5000):
            part = [
                Chunk(chunk_id=i, source_id="bench.txt", text=i, title="", format="text", ordinal=n)
                for n, i in enumerate(ids[start : start + 5000])
            ]
            store.upsert(part, rows[start : start + 5000])
        started = time.perf_counter()
        for start in range(0, sample, 5000):
            store.vectors(ids[start : start + 5000])
        return sample / (time.perf_counter() - started)


def show(label: str, shared: list[dict[str, float]], memory: list[dict[str, float]]) -> None:
    def mean(rows: list[dict[str, float]], key: str) -> float:
        return float(np.mean([r[key] for r in rows]))

    print(f"\n{label} (per replica, mean of {len(shared)}):")
    print(f"  {'figure':<18}{'memory':>12}{'shared':>12}{'shared/memory':>16}")
    rows = [("start s", "start_s"), ("first search ms", "first_ms"), ("search p50 ms", "p50_ms"),
            ("search p95 ms", "p95_ms")] + [(f"{f} MB", f) for f in MEMORY_FIELDS]  # fmt: skip
    for name, key in rows:
        base, ours = mean(memory, key), mean(shared, key)
        ratio = f"{ours / base:.2f}" if base else "-"
        print(f"  {name:<18}{base:12.1f}{ours:12.1f}{ratio:>16}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--baseline-chunks", type=int, help="chunks the memory replicas load (default: all)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--chroma-sample", type=int, default=0, help="vectors to time reading from Chroma")
    parser.add_argument("--dir", type=Path, help="index folder (default: a temporary one)")
    parser.add_argument("--replica", choices=("shared", "memory"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replica:
        replica(args.replica, args.dir, args.chunks, args.queries)
        return

    with tempfile.TemporaryDirectory(prefix="iom-bench-vectors-") as scratch:
        folder = (args.dir or Path(scratch)) / FOLDER
        header = read_header(folder)
        if header is None or header.rows != args.chunks:
            print(f"writing {args.chunks:,} vectors to {folder} ...", flush=True)
            print(f"  {build(folder, args.chunks):.1f} s", flush=True)
        size_mb = sum(p.stat().st_size for p in folder.glob("*-*.*")) / 2**20
        baseline = args.baseline_chunks or args.chunks
        print(f"vector file: {args.chunks:,} chunks, {size_mb:,.0f} MB; memory replicas load {baseline:,}")
        for count in (1, 2):
            memory = round_of("memory", folder, baseline, args.queries, count)
            shared = round_of("shared", folder, args.chunks, args.queries, count)
            show(
                f"{count} replica{'s' if count > 1 else ''} at once, {args.queries} queries, k={K}",
                shared,
                memory,
            )
            if baseline != args.chunks:
                print(f"  (memory replicas hold {baseline:,} chunks, shared {args.chunks:,})")
        if args.chroma_sample:
            rate = chroma_read_rate(args.chroma_sample)
            print(
                f"\nChroma (embedded) gives {rate:,.0f} vectors/s in Retriever.sync's batches: a memory "
                f"replica's start reads {args.chunks:,} in about {args.chunks / rate:,.0f} s before the "
                "figures above"
            )


if __name__ == "__main__":
    main()
